package dev.lameduck.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The artifact of the contract: what the shaded jar holds, its manifest, and what {@code java -jar} prints. */
class AgentJarTest {
    @Test
    void theJarHoldsOnlyTheProjectsPackageAndMetaInf() throws IOException {
        List<String> strangers = new ArrayList<>();
        try (JarFile jar = new JarFile(TestApp.agentJar().toFile())) {
            jar.stream().map(e -> e.getName())
                    .filter(n -> !n.startsWith("dev/lameduck/") && !n.equals("dev/") && !n.startsWith("META-INF/"))
                    .forEach(strangers::add);
            assertEquals(List.of(), strangers, "ASM must be relocated under dev/lameduck/");
            assertTrue(jar.stream().noneMatch(e -> e.getName().startsWith("META-INF/versions/")),
                    "multi-release classes would stay at unrelocated paths");
            assertTrue(jar.stream().anyMatch(e -> e.getName().startsWith("dev/lameduck/shaded/asm/ClassReader")));
            assertTrue(jar.stream().count() < 200, "a small jar: the agent and ASM's core, nothing else");
        }
    }

    @Test
    void theManifestDeclaresTheAgent() throws IOException {
        try (JarFile jar = new JarFile(TestApp.agentJar().toFile())) {
            Attributes main = jar.getManifest().getMainAttributes();
            assertEquals("dev.lameduck.Agent", main.getValue("Premain-Class"));
            assertEquals("dev.lameduck.Agent", main.getValue("Agent-Class"));
            assertEquals("true", main.getValue("Can-Retransform-Classes"));
            assertEquals("true", main.getValue("Can-Redefine-Classes"));
        }
    }

    @Test
    void javaDashJarPrintsTheVersionAndEveryOptionWithItsSource() throws Exception {
        List<String> out = runJar(List.of("-Dlameduck.drain=5s"), List.of("grace=40s"), "LAMEDUCK_DELAY", "2s");
        assertTrue(out.get(0).matches("lameduck \\d+\\.\\d+\\.\\d+.*"), out.get(0));
        assertTrue(line(out, "lameduck.delay").matches("lameduck.delay +2s +\\(env\\).*"), line(out, "lameduck.delay"));
        assertTrue(line(out, "lameduck.drain").matches("lameduck.drain +5s +\\(system property\\).*"), line(out, "lameduck.drain"));
        assertTrue(line(out, "lameduck.grace").matches("lameduck.grace +40s +\\(agent argument\\).*"), line(out, "lameduck.grace"));
        assertTrue(line(out, "lameduck.deadline").matches("lameduck.deadline +38s +\\(default\\).*"), line(out, "lameduck.deadline"));
        assertEquals(13, options(out).size(), String.join("\n", out));
    }

    /** The README's option table and the agent's own listing must name the same options with the same defaults. */
    @Test
    void theReadmeOptionTableMatchesConfig() throws Exception {
        List<String> listing = runJar(List.of(), List.of(), null, null);
        List<String[]> fromJar = options(listing);
        String readme = Files.readString(TestApp.root().resolve("README.md"), StandardCharsets.UTF_8);
        Matcher row = Pattern.compile("(?m)^\\| `(lameduck\\.[a-z.]+)` \\| ([^|]+) \\|").matcher(readme);
        List<String[]> fromReadme = new ArrayList<>();
        while (row.find()) {
            fromReadme.add(new String[] {row.group(1), row.group(2)});
        }
        assertEquals(fromJar.stream().map(o -> o[0]).toList(), fromReadme.stream().map(o -> o[0]).toList(), "option names, in order");
        for (int i = 0; i < fromJar.size(); i++) {
            String value = fromJar.get(i)[1];
            String cell = fromReadme.get(i)[1];
            boolean documented = cell.contains("`" + value + "`") || (value.equals("(none)") && cell.contains("none"))
                    || fromJar.get(i)[0].equals("lameduck.deadline") && cell.contains("grace − 2s");
            assertTrue(documented, fromJar.get(i)[0] + ": default " + value + " is not what the README says: " + cell);
        }
    }

    private static String line(List<String> out, String option) {
        return out.stream().filter(l -> l.startsWith(option + " ")).findFirst().orElseThrow(() -> new AssertionError(option + " not listed:\n" + out));
    }

    private static List<String[]> options(List<String> out) {
        List<String[]> options = new ArrayList<>();
        for (String l : out) {
            if (l.startsWith("lameduck.")) {
                String[] parts = l.split(" +");
                options.add(new String[] {parts[0], parts[1]});
            }
        }
        return options;
    }

    private static List<String> runJar(List<String> jvmArgs, List<String> args, String envName, String envValue) throws Exception {
        List<String> command = new ArrayList<>(List.of(Jdk.JDK_17.java().toString()));
        command.addAll(jvmArgs);
        command.addAll(List.of("-jar", TestApp.agentJar().toString()));
        command.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().entrySet().removeIf(e -> e.getKey().startsWith("LAMEDUCK_") || e.getKey().equals("KUBERNETES_SERVICE_HOST"));
        if (envName != null) {
            pb.environment().put(envName, envValue);
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        List<String> lines = new ArrayList<>();
        Collections.addAll(lines, out.split("\n"));
        return lines;
    }
}
