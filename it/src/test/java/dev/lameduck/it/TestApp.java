package dev.lameduck.it;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

/** A runnable test app of test-apps/, all with the endpoints of DESIGN.md section 3. */
public enum TestApp {
    JETTY_9_4("jetty-9.4"),
    JETTY_10("jetty-10"),
    JETTY_11("jetty-11"),
    JETTY_12_0("jetty-12.0"),
    JETTY_12_1("jetty-12.1"),
    /** Jetty 12.1 relocated to com.example.fat.org.eclipse.jetty, as inside a shaded fat jar. */
    JETTY_12_1_RELOCATED("jetty-12.1-relocated");

    public static final List<TestApp> HTTP = List.of(values());

    final String folder;

    TestApp(String folder) {
        this.folder = folder;
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

    @Override
    public String toString() {
        return folder;
    }
}
