package dev.lameduck.it;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/** A runnable test app of test-apps/, all with the endpoints of DESIGN.md section 3. */
public enum TestApp {
    JETTY_9_4("jetty-9.4", true),
    JETTY_10("jetty-10", true),
    JETTY_11("jetty-11", true),
    JETTY_12_0("jetty-12.0", true),
    JETTY_12_1("jetty-12.1", true),
    /** Jetty 12.1 relocated to com.example.fat.org.eclipse.jetty, as inside a shaded fat jar. */
    JETTY_12_1_RELOCATED("jetty-12.1-relocated", true),
    UNDERTOW_2_2("undertow-2.2", true),
    UNDERTOW_2_3("undertow-2.3", true),
    UNDERTOW_2_4("undertow-2.4", true),
    /** Undertow 2.3 relocated to com.example.fat.io.undertow. */
    UNDERTOW_2_3_RELOCATED("undertow-2.3-relocated", true),
    TOMCAT_9("tomcat-9", true),
    TOMCAT_10_1("tomcat-10.1", true),
    TOMCAT_11("tomcat-11", true),
    /** Tomcat 11 relocated to com.example.fat.org.apache. */
    TOMCAT_11_RELOCATED("tomcat-11-relocated", true),
    /** A Spring Boot 3.5 fat jar: embedded Tomcat 10.1, Spring's graceful shutdown on, the pool closed by @PreDestroy. */
    SPRING_BOOT_3_5("spring-boot-3.5", true),
    /** A Javalin 7 app (Jetty 12 under Javalin's own setup). */
    JAVALIN_7("javalin-7", false),
    /** A Dropwizard 5 app (Jetty 12 ee10 under Dropwizard's server command), the shared servlet on its application context. */
    DROPWIZARD_5("dropwizard-5", false),
    /** Plain Reactor Netty 1.3 (Netty 4.2), what Spring WebFlux runs on. */
    REACTOR_NETTY_1_3("reactor-netty-1.3", true),
    /** Plain Vert.x 5 core (Netty 4.2), what Quarkus runs on: the Netty support's second framework. */
    VERTX_5("vertx-5", true),
    /** A Spring Boot 3.5 WebFlux fat jar: Reactor Netty 1.2 on Netty 4.1, Spring's graceful mode on. */
    SPRING_WEBFLUX_3_5("spring-webflux-3.5", false),
    /** The Apache Tomcat distribution, started with catalina.sh run, the test web application as ROOT.war. */
    TOMCAT_DISTRIBUTION("tomcat-webapp", false),
    /** grpc-java servers: the oldest and the newest supported version, over netty-shaded and netty. */
    GRPC_1_60("grpc-1.60", false),
    GRPC_1_60_NETTY("grpc-1.60-netty", false),
    GRPC_1_85("grpc-1.85", false),
    GRPC_1_85_NETTY("grpc-1.85-netty", false),
    /** grpc-java 1.85 over netty-shaded, relocated to com.example.fat.io.grpc. */
    GRPC_1_85_RELOCATED("grpc-1.85-relocated", false),
    /** An Undertow HTTP server (the port it prints) and a grpc-java 1.85 server ({@code grpc port N}) in one JVM. */
    GRPC_AND_HTTP("grpc-http", false),
    /** Jetty 12.1 in an app with its own Byte Buddy 1.14 and slf4j + Logback (shutdown hook on). */
    HOSTILE_LOGBACK("hostile-logback", false),
    /** Undertow 2.3 in an app logging through Log4j2 (its own shutdown hook on). */
    HOSTILE_LOG4J2("hostile-log4j2", false),
    /** A class named like Jetty's server with another API, serving through the JDK's HTTP server. */
    HOSTILE_CHANGED_API("hostile-changed-api", false);

    /**
     * Every HTTP server app, or those whose name contains one of {@code -Dlameduck.apps=tomcat,undertow-2.4} (for a
     * quick run). Not the hostile-* apps: each serves one hardening test.
     */
    public static final List<TestApp> HTTP = Arrays.stream(values())
            .filter(a -> !a.folder.startsWith("grpc") && !a.folder.startsWith("hostile-") && selected(a)).collect(Collectors.toList());

    /** The gRPC-only apps, selected the same way. */
    public static final List<TestApp> GRPC = Arrays.stream(values())
            .filter(a -> a.folder.startsWith("grpc-1") && selected(a)).collect(Collectors.toList());

    private static boolean selected(TestApp app) {
        String wanted = System.getProperty("lameduck.apps", "");
        return wanted.isBlank() || Arrays.stream(wanted.split(",")).anyMatch(w -> app.toString().contains(w.trim()));
    }

    /** The oldest and the newest version of each server (and the Tomcat distribution): every traffic shape runs on them. */
    boolean isOldestOrNewest() {
        return this == JETTY_9_4 || this == JETTY_12_1 || this == TOMCAT_9 || this == TOMCAT_11 || this == TOMCAT_DISTRIBUTION
                || this == UNDERTOW_2_2 || this == UNDERTOW_2_4 || this == REACTOR_NETTY_1_3;
    }

    /** The newest version of each server (of the Netty family, Reactor Netty): tested on Temurin 25 too. */
    boolean isNewest() {
        return this == JETTY_12_1 || this == TOMCAT_11 || this == UNDERTOW_2_4 || this == REACTOR_NETTY_1_3;
    }

    /** A relocated build or a framework on top of a server version that is tested on its own too. */
    boolean isAVariant() {
        return folder.endsWith("-relocated") || this == SPRING_BOOT_3_5 || this == JAVALIN_7 || this == DROPWIZARD_5 || this == VERTX_5
                || this == SPRING_WEBFLUX_3_5;
    }

    /**
     * Reactor Netty (1.2.11, 1.3.7) answers an HTTP/1.0 request of unknown length with chunked coding, which HTTP/1.0
     * has not (RFC 9112 7.1): its own, with or without the agent.
     */
    boolean chunksForHttp10() {
        return this == REACTOR_NETTY_1_3 || this == SPRING_WEBFLUX_3_5;
    }

    final String folder;
    /** Whether the app speaks cleartext HTTP/2 with prior knowledge on its port. */
    final boolean h2c;

    TestApp(String folder, boolean h2c) {
        this.folder = folder;
        this.h2c = h2c;
    }

    @Override
    public String toString() {
        return this == TOMCAT_DISTRIBUTION ? "tomcat-distribution" : folder;
    }

    Path jar() {
        Path jar = root().resolve("test-apps").resolve(folder).resolve("target/app.jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: build with mvn package first");
        }
        return jar;
    }

    static Path root() {
        return Paths.get(System.getProperty("lameduck.root", "..")).toAbsolutePath().normalize();
    }

    static Path agentJar() {
        Path jar = root().resolve("agent/target/lameduck-agent.jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: build with mvn package first");
        }
        return jar;
    }
}
