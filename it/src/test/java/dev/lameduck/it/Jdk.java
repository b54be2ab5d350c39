package dev.lameduck.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.stream.Stream;

/** The JDKs the apps run on: the build's JDK 17, and Temurin 25 from /usr/lib/jvm. */
public enum Jdk {
    JDK_17, JDK_25;

    Path java() {
        Path home = this == JDK_17 ? Paths.get(System.getProperty("java.home")) : temurin25();
        return home.resolve("bin/java");
    }

    private static Path temurin25() {
        try (Stream<Path> homes = Files.list(Paths.get("/usr/lib/jvm"))) {
            return homes.filter(p -> p.getFileName().toString().matches("temurin-25.*") && Files.isExecutable(p.resolve("bin/java")))
                    .findFirst()
                    .orElseThrow(() -> new IllegalStateException("no Temurin 25 under /usr/lib/jvm"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String toString() {
        return this == JDK_17 ? "jdk17" : "jdk25";
    }
}
