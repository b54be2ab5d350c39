package dev.lameduck.it;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The Apache Tomcat distribution (unpacked by the build from Maven Central) run as users run it:
 * {@code catalina.sh run}, the agent in {@code CATALINA_OPTS}, the test web application deployed as ROOT.war.
 * Each start gets its own CATALINA_BASE, with its own port.
 */
final class TomcatDistribution {
    private TomcatDistribution() {}

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Makes a CATALINA_BASE listening on {@code port}; returns the command, and adds its environment to {@code env}. */
    static List<String> prepare(int port, Jdk jdk, List<String> javaOptions, Map<String, String> env) throws IOException {
        Path home = Paths.get(System.getProperty("lameduck.tomcat.home"));
        if (!Files.isRegularFile(home.resolve("bin/catalina.sh"))) {
            throw new IllegalStateException("no Tomcat distribution at " + home + ": run the build (mvn verify) first");
        }
        Path bases = TestApp.root().resolve("it/target/tomcat-bases");
        Files.createDirectories(bases);
        Path base = Files.createTempDirectory(bases, "base-");
        copyTree(home.resolve("conf"), base.resolve("conf"));
        for (String dir : List.of("logs", "temp", "work", "webapps")) {
            Files.createDirectories(base.resolve(dir));
        }
        Path serverXml = base.resolve("conf/server.xml");
        String xml = Files.readString(serverXml, StandardCharsets.UTF_8)
                .replace("port=\"8080\"", "port=\"" + port + "\"")
                .replace("port=\"8005\"", "port=\"-1\""); // no shutdown port: several instances at once
        Files.writeString(serverXml, xml, StandardCharsets.UTF_8);
        Path war = TestApp.root().resolve("test-apps/tomcat-webapp/target/ROOT.war");
        Files.copy(war, base.resolve("webapps/ROOT.war"), StandardCopyOption.REPLACE_EXISTING);

        env.put("CATALINA_HOME", home.toString());
        env.put("CATALINA_BASE", base.toString());
        env.put("JAVA_HOME", jdk.java().getParent().getParent().toString());
        env.put("CATALINA_OPTS", String.join(" ", javaOptions));
        return List.of("bash", home.resolve("bin/catalina.sh").toString(), "run");
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target);
                }
            }
        }
    }
}
