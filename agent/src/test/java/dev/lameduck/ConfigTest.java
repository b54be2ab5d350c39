package dev.lameduck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ConfigTest {
    private static Config load(String args, Map<String, String> props, Map<String, String> env) {
        Properties p = new Properties();
        p.putAll(props);
        return Config.load(args, p, env);
    }

    private static Config load(String args) {
        return load(args, Map.of(), Map.of());
    }

    private static Config.Setting setting(Config c, String name) {
        return c.settings().stream().filter(s -> s.name.equals(name)).findFirst().orElseThrow();
    }

    @Test
    void defaultsOutsideKubernetes() {
        Config c = load(null);
        assertTrue(c.enabled);
        assertEquals(0, c.delayMillis);
        assertEquals(0, c.delayQuietMillis, "the adaptive lame duck is opt-in");
        assertEquals(1000, c.delayMinMillis);
        assertEquals(20_000, c.drainMillis);
        assertEquals(30_000, c.graceMillis);
        assertEquals(28_000, c.deadlineMillis);
        assertEquals(List.of(), c.readinessPaths);
        assertEquals(Set.of("TERM", "INT"), c.signals);
        assertTrue(c.exit);
        assertEquals(Set.copyOf(Config.SERVER_KINDS), c.servers);
        assertEquals(Log.Level.INFO, c.log);
        assertEquals(List.of(), c.problems());
        assertTrue(c.settings().stream().allMatch(s -> s.source == Config.Source.DEFAULT));
    }

    @Test
    void theAdaptiveLameDuckTakesDurationsAndNamesItsOptionsWithADot() {
        Config c = load("delay=5s,delay.quiet=500ms,delay.min=2s");
        assertEquals(5000, c.delayMillis);
        assertEquals(500, c.delayQuietMillis);
        assertEquals(2000, c.delayMinMillis);
        assertEquals(List.of(), c.problems());
        Config bad = load("delay.quiet=soon");
        assertEquals(0, bad.delayQuietMillis);
        assertEquals(List.of("ignoring lameduck.delay.quiet=soon: expected a duration like 250ms, 3s or 1m"), bad.problems());
    }

    @Test
    void delayDefaultsToFiveSecondsInKubernetes() {
        Config c = load(null, Map.of(), Map.of("KUBERNETES_SERVICE_HOST", "10.0.0.1"));
        assertEquals(5000, c.delayMillis);
        assertEquals("5s", setting(c, "lameduck.delay").value);
    }

    @Test
    void deadlineDefaultsToGraceMinusTwoSeconds() {
        Config c = load("grace=60s");
        assertEquals(58_000, c.deadlineMillis);
    }

    @Test
    void agentArgumentsWinOverSystemPropertiesWhichWinOverTheEnvironment() {
        Config c = load("delay=1s", Map.of("lameduck.delay", "2s", "lameduck.drain", "7s"),
                Map.of("LAMEDUCK_DELAY", "3s", "LAMEDUCK_DRAIN", "8s", "LAMEDUCK_READINESS_PATHS", "/ready"));
        assertEquals(1000, c.delayMillis);
        assertEquals(Config.Source.AGENT_ARGUMENT, setting(c, "lameduck.delay").source);
        assertEquals(7000, c.drainMillis);
        assertEquals(Config.Source.SYSTEM_PROPERTY, setting(c, "lameduck.drain").source);
        assertEquals(List.of("/ready"), c.readinessPaths);
        assertEquals(Config.Source.ENV, setting(c, "lameduck.readiness.paths").source);
    }

    @Test
    void listValuesInAgentArgumentsNeedNoQuoting() {
        Config c = load("servers=jetty,tomcat,readiness.paths=/ready,/live,signals=SIGTERM,drain=5s");
        assertEquals(Set.of("jetty", "tomcat"), c.servers);
        assertEquals(List.of("/ready", "/live"), c.readinessPaths);
        assertEquals(Set.of("TERM"), c.signals);
        assertEquals(5000, c.drainMillis);
        assertEquals(List.of(), c.problems());
    }

    @ParameterizedTest
    @CsvSource({"250ms,250", "3s,3000", "1m,60000", "1500,1500", "0,0", "0s,0", " 2s ,2000"})
    void durations(String text, long millis) {
        assertEquals(millis, Config.parseDuration(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", "-1s", "1e9s", "", "1.5s", "3 s", "10h", "99999999m", "１s", "-0", "3S", "1m30s"})
    void badDurationsAreReportedInOneLineAndTheDefaultIsUsed(String bad) {
        Config c = load(null, Map.of("lameduck.drain", bad), Map.of());
        assertEquals(20_000, c.drainMillis);
        assertEquals(List.of("ignoring lameduck.drain=" + bad + ": expected a duration like 250ms, 3s or 1m"), c.problems());
        assertEquals(Config.Source.DEFAULT, setting(c, "lameduck.drain").source);
    }

    @Test
    void badValuesOfEveryOtherKind() {
        Config c = load("enabled=yes,log=loud,servers=jetty,nginx,signals=TERM,USR9,readiness.paths=ready,exit=0");
        assertTrue(c.enabled);
        assertEquals(Log.Level.INFO, c.log);
        assertEquals(Set.copyOf(Config.SERVER_KINDS), c.servers);
        assertEquals(Set.of("TERM", "INT"), c.signals);
        assertEquals(List.of(), c.readinessPaths);
        assertTrue(c.exit);
        assertEquals(List.of(
                "ignoring lameduck.enabled=yes: expected true or false",
                "ignoring lameduck.readiness.paths=ready: expected paths starting with /",
                "ignoring lameduck.signals=TERM,USR9: expected a comma-separated list of TERM, INT, HUP",
                "ignoring lameduck.exit=0: expected true or false",
                "ignoring lameduck.servers=jetty,nginx: expected a comma-separated subset of jetty,tomcat,undertow,grpc,netty",
                "ignoring lameduck.log=loud: expected one of off, warn, info, debug"), c.problems());
    }

    @Test
    void unknownAgentArgumentsAreReported() {
        Config c = load("oops,dealy=3s");
        assertEquals(List.of("ignoring agent argument 'oops': expected name=value", "ignoring unknown agent argument lameduck.dealy=3s"), c.problems());
        assertEquals(0, c.delayMillis);
    }

    @Test
    void drainIsShortenedWhenDelayAndDrainDoNotFitBeforeTheDeadline() {
        Config c = load("grace=20s,delay=5s,drain=20s");
        assertEquals(18_000, c.deadlineMillis);
        assertEquals(5000, c.delayMillis);
        assertEquals(12_000, c.drainMillis, "deadline 18s - 1s to stop - 5s delay");
        assertEquals(List.of("delay 5s + drain 20s do not fit before the deadline 18s: drain shortened to 12s"), c.problems());
        assertEquals("plan: delay 5s, drain <= 12s, halt at 18s", c.plan());
    }

    @Test
    void aDelayBeyondTheDeadlineIsShortenedToo() {
        Config c = load("deadline=3s,delay=10s");
        assertEquals(2000, c.delayMillis);
        assertEquals(0, c.drainMillis);
        assertFalse(c.problems().isEmpty());
    }

    @Test
    void envNames() {
        assertEquals("LAMEDUCK_READINESS_PATHS", Config.envName("lameduck.readiness.paths"));
    }

    @Test
    void formatting() {
        assertEquals("250ms", Config.format(250));
        assertEquals("3s", Config.format(3000));
        assertEquals("2m", Config.format(120_000));
        assertEquals("0s", Config.format(0));
    }

    /**
     * Hostile values for every option, from every source: never an exception; either the value is taken, or one
     * line names the option and the value, and the option keeps its default.
     */
    @Test
    void hostileValuesForEveryOptionAreReportedInOneLineEachAndNeverThrow() {
        List<String> hostile = List.of("", " ", "-0", "-1", "-5s", "1e9s", "99999999999999999999", "9223372036854775807ms",
                "1.5s", "5 s", "3S", "\u00e9t\u00e9", "\u202e5s", "\u0000", "=", ",", "null", "true", "/", "//", "TERM,", "jetty,,tomcat",
                "\n5s", "0x10", "1m1s", "ms");
        Config defaults = load(null);
        for (Config.Setting option : defaults.settings()) {
            for (String value : hostile) {
                for (Config c : List.of(
                        load(null, Map.of(option.name, value), Map.of()),
                        load(null, Map.of(), Map.of(option.name.toUpperCase(java.util.Locale.ROOT).replace('.', '_'), value)))) {
                    Config.Setting read = setting(c, option.name);
                    List<String> about = c.problems().stream().filter(line -> line.contains(option.name + "=")).toList();
                    if (about.isEmpty()) {
                        continue; // taken as given (e.g. "true" for a switch); the plan lines may still adjust it
                    }
                    assertEquals(1, about.size(), option.name + "=" + value + ": " + c.problems());
                    assertTrue(about.get(0).startsWith("ignoring " + option.name + "=") && about.get(0).contains(": expected "),
                            about.get(0));
                    assertEquals(setting(defaults, option.name).value, read.value, option.name + "=" + value + " keeps the default");
                }
            }
        }
    }
}
