package dev.lameduck.it;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A test app running as a real process, with or without the real agent jar. Standard output and error are
 * read as one stream, in order, and copied to {@code it/target/app-logs/}.
 */
public final class AppProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on (\\d+)");

    private final Process process;
    private final List<String> lines = new ArrayList<>();
    private final int port;
    private volatile long exitedAtNanos;
    private final Thread reader;

    /** Options for one start: agent arguments (null: no agent), extra JVM arguments, extra environment. */
    public static final class Options {
        String agentArgs = "";
        final List<String> jvmArgs = new ArrayList<>();
        final Map<String, String> env = new java.util.HashMap<>();
        boolean waitForListening = true;
        Jdk jdk = Jdk.JDK_17;

        public static Options agent(String args) {
            Options o = new Options();
            o.agentArgs = args;
            return o;
        }

        public static Options noAgent() {
            Options o = new Options();
            o.agentArgs = null;
            return o;
        }

        public Options on(Jdk jdk) {
            this.jdk = jdk;
            return this;
        }

        public Options jvm(String arg) {
            jvmArgs.add(arg);
            return this;
        }

        public Options env(String name, String value) {
            env.put(name, value);
            return this;
        }

        /** A second listener with TLS ({@link Tls#keystore()}): HTTP/1.1 and HTTP/2 by ALPN, at {@link #tlsPort()}. */
        public Options tls() throws Exception {
            return jvm("-Dtestapp.tls.keystore=" + Tls.keystore());
        }

        /** Returns from start() as soon as the process runs, before it listens (port() is then 0). */
        public Options noWaitForListening() {
            waitForListening = false;
            return this;
        }
    }

    private AppProcess(Process process, Path log, int knownPort, boolean waitForListening) throws Exception {
        this.process = process;
        PrintWriter copy = new PrintWriter(Files.newBufferedWriter(log, StandardCharsets.UTF_8), true);
        reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    copy.println(line);
                    synchronized (lines) {
                        lines.add(line);
                        lines.notifyAll();
                    }
                }
            } catch (IOException ignored) {
                // The process ended.
            } finally {
                copy.close();
            }
        }, "app-output");
        reader.setDaemon(true);
        reader.start();
        process.onExit().thenRun(() -> exitedAtNanos = System.nanoTime());
        if (!waitForListening) {
            port = knownPort;
        } else if (knownPort > 0) {
            port = knownPort;
            awaitHealthy(Duration.ofSeconds(60));
        } else {
            Matcher m = LISTENING.matcher(awaitLine(LISTENING.pattern(), Duration.ofSeconds(30)));
            assertTrue(m.find());
            port = Integer.parseInt(m.group(1));
        }
    }

    /** For apps that cannot tell their port (a web application): ready once GET /health answers 200. */
    private void awaitHealthy(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            if (!process.isAlive()) {
                fail("the app ended while starting; output:\n" + output());
            }
            try (RawConnection c = new RawConnection(port)) {
                if (c.request("GET", "/health").status() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // Not listening yet.
            }
            Thread.sleep(100);
        }
        fail("not healthy within " + timeout + "; output:\n" + output());
    }

    /** The name of a test's app log in it/target/app-logs: class, method and parameters. */
    public static String logName(org.junit.jupiter.api.TestInfo test) {
        return test.getTestClass().map(Class::getSimpleName).orElse("") + "." + test.getTestMethod().map(m -> m.getName()).orElse("")
                + " " + test.getDisplayName();
    }

    /** Starts the app on any free port and waits until it listens. */
    public static AppProcess start(TestApp app, Options options, String testName) throws Exception {
        List<String> javaOptions = new ArrayList<>();
        if (options.agentArgs != null) {
            javaOptions.add("-javaagent:" + TestApp.agentJar() + (options.agentArgs.isEmpty() ? "" : "=" + options.agentArgs));
        }
        javaOptions.addAll(options.jvmArgs);

        List<String> command = new ArrayList<>();
        // Background jobs of a non-interactive shell start with SIGINT ignored, and children inherit that
        // (NOTES.md, pitfall 6): reset it to the default, then exec the JVM under the same pid.
        command.add("perl");
        command.add("-e");
        command.add("$SIG{INT} = 'DEFAULT'; exec @ARGV or die $!");
        Map<String, String> env = new java.util.HashMap<>(options.env);
        int knownPort = 0;
        if (app == TestApp.TOMCAT_DISTRIBUTION) {
            knownPort = TomcatDistribution.freePort();
            command.addAll(TomcatDistribution.prepare(knownPort, options.jdk, javaOptions, env));
        } else {
            command.add(options.jdk.java().toString());
            command.addAll(javaOptions);
            command.add("-jar");
            command.add(app.jar().toString());
            command.add("0");
        }
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().remove("KUBERNETES_SERVICE_HOST"); // the delay default depends on it
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().entrySet().removeIf(e -> e.getKey().startsWith("LAMEDUCK_"));
        pb.environment().putAll(env);
        Path logs = TestApp.root().resolve("it/target/app-logs");
        Files.createDirectories(logs);
        Path log = logs.resolve(testName.replaceAll("[^A-Za-z0-9.-]+", "_") + ".log");
        try {
            return new AppProcess(pb.start(), log, knownPort, options.waitForListening);
        } catch (Throwable t) {
            throw new AssertionError("app did not start; output in " + log, t);
        }
    }

    public int port() {
        return port;
    }

    /** The TLS listener's port (an app started with {@link Options#tls()} prints it before its plain port). */
    public int tlsPort() throws InterruptedException {
        Matcher m = Pattern.compile("listening tls on (\\d+)").matcher(awaitLine("listening tls on \\d+", Duration.ofSeconds(5)));
        assertTrue(m.find());
        return Integer.parseInt(m.group(1));
    }

    public long pid() {
        return process.pid();
    }

    /** Sends a real signal with kill(1): TERM, INT. */
    public void signal(String name) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
        assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -" + name + " failed");
    }

    /** Waits for a line of output that contains a match of {@code regex}; returns the line. */
    public String awaitLine(String regex, Duration timeout) throws InterruptedException {
        Pattern p = Pattern.compile(regex);
        long end = System.nanoTime() + timeout.toNanos();
        synchronized (lines) {
            for (int seen = 0; ; ) {
                for (; seen < lines.size(); seen++) {
                    if (p.matcher(lines.get(seen)).find()) {
                        return lines.get(seen);
                    }
                }
                long left = TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime());
                if (left <= 0 || (!reader.isAlive() && seen == lines.size())) {
                    fail("no line matching /" + regex + "/ within " + timeout + "; output:\n" + output());
                }
                lines.wait(Math.min(left, 100));
            }
        }
    }

    /** Waits for the process to end; fails if it does not within the timeout. */
    public int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            fail("still running after " + timeout + "; output:\n" + output());
        }
        reader.join(5000); // the rest of the output
        return process.exitValue();
    }

    /** When the process ended, by {@link System#nanoTime()}. */
    public long exitedAtNanos() throws InterruptedException {
        process.waitFor();
        while (exitedAtNanos == 0) {
            Thread.sleep(1);
        }
        return exitedAtNanos;
    }

    public String output() {
        synchronized (lines) {
            return String.join("\n", lines);
        }
    }

    /** How often {@code part} occurs in the output so far. */
    public int count(String part) {
        String text = output();
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }

    /** The index of the first output line matching {@code regex}, -1 if none. */
    public int lineIndex(String regex) {
        Pattern p = Pattern.compile(regex);
        synchronized (lines) {
            for (int i = 0; i < lines.size(); i++) {
                if (p.matcher(lines.get(i)).find()) {
                    return i;
                }
            }
        }
        return -1;
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
