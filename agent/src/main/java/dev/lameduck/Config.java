package dev.lameduck;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Every option of the agent: where it is read from, how it is parsed and checked, its default, and the text
 * that {@code java -jar lameduck-agent.jar} prints. Parsing never throws: a bad value is reported in one line
 * and the default is used.
 */
public final class Config {
    public static final List<String> SERVER_KINDS = Collections.unmodifiableList(Arrays.asList("jetty", "tomcat", "undertow", "grpc", "netty"));
    public static final List<String> SIGNALS = Collections.unmodifiableList(Arrays.asList("TERM", "INT", "HUP"));

    /** Time kept after the drain for stopping the servers and the JVM's own hooks, before the deadline. */
    static final long STOP_RESERVE_MS = 1000;
    private static final long MAX_DURATION_MS = 24L * 3600 * 1000;
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m)?");
    private static final String DURATION_FORM = "a duration like 250ms, 3s or 1m";

    /** Where a value came from, in the order of precedence (first found wins). */
    public enum Source {
        AGENT_ARGUMENT("agent argument"), SYSTEM_PROPERTY("system property"), ENV("env"), DEFAULT("default");

        final String label;

        Source(String label) {
            this.label = label;
        }
    }

    /** One option as it was resolved: for the {@code java -jar} listing. */
    public static final class Setting {
        public final String name;
        public final String value;
        public final Source source;
        public final String meaning;

        Setting(String name, String value, Source source, String meaning) {
            this.name = name;
            this.value = value;
            this.source = source;
            this.meaning = meaning;
        }
    }

    public final boolean enabled;
    public final long delayMillis;
    public final long delayQuietMillis;
    public final long delayMinMillis;
    /** {@code delay.close=gradual}: connections are told to go over the lame duck, not all at its start. */
    public final boolean gradualClose;
    public final long drainMillis;
    public final long graceMillis;
    public final long deadlineMillis;
    public final List<String> readinessPaths;
    public final Set<String> signals;
    public final boolean exit;
    public final Set<String> servers;
    public final Log.Level log;

    private final List<Setting> settings;
    private final List<String> problems;

    private Config(Reader r) {
        enabled = r.bool("enabled", true, "master switch; false installs nothing");
        boolean kubernetes = r.env.containsKey("KUBERNETES_SERVICE_HOST");
        long delay = r.duration("delay", kubernetes ? 5000 : 0,
                "lame-duck period before accepting stops (default 5s when KUBERNETES_SERVICE_HOST is set, else 0s)");
        delayQuietMillis = r.duration("delay.quiet", 0,
                "end the lame duck early once no new connection or request has arrived for this long (0s: off)");
        delayMinMillis = r.duration("delay.min", 1000, "with delay.quiet: the shortest lame duck");
        gradualClose = r.bool("delay.close", "gradual", "immediate", true,
                "gradual: connections are told to close over the first 80% of the delay; immediate: all at its start");
        long drain = r.duration("drain", 20_000, "longest wait for in-flight work once accepting has stopped");
        graceMillis = r.duration("grace", 30_000,
                "the orchestrator's grace period before SIGKILL (terminationGracePeriodSeconds)");
        deadlineMillis = r.duration("deadline", defaultDeadline(graceMillis),
                "from the trigger: if the JVM still lives, report and halt (default grace - 2s)");
        readinessPaths = r.list("readiness.paths", Collections.<String>emptyList(), null,
                "comma-separated request paths answered 503 from the lame-duck start", "paths starting with /");
        signals = new LinkedHashSet<>(r.list("signals", Arrays.asList("TERM", "INT"), SIGNALS,
                "signals that start the sequence", "a comma-separated list of " + String.join(", ", SIGNALS)));
        exit = r.bool("exit", true, "intercept System.exit / Runtime.exit");
        servers = new LinkedHashSet<>(r.list("servers", SERVER_KINDS, SERVER_KINDS,
                "comma-separated subset of jetty,tomcat,undertow,grpc,netty", "a comma-separated subset of " + String.join(",", SERVER_KINDS)));
        log = r.level("log", Log.Level.INFO, "off, warn, info, debug");
        r.unknownArguments();

        // The whole sequence has to end before the deadline, with time left to stop the servers.
        long budget = Math.max(0, deadlineMillis - STOP_RESERVE_MS);
        if (delay > budget) {
            r.problems.add(Log.format("delay %s does not fit before the deadline %s: shortened to %s, no drain",
                    format(delay), format(deadlineMillis), format(budget)));
            delay = budget;
            drain = 0;
        } else if (delay + drain > budget) {
            r.problems.add(Log.format("delay %s + drain %s do not fit before the deadline %s: drain shortened to %s",
                    format(delay), format(drain), format(deadlineMillis), format(budget - delay)));
            drain = budget - delay;
        }
        delayMillis = delay;
        drainMillis = drain;
        settings = Collections.unmodifiableList(r.settings);
        problems = Collections.unmodifiableList(r.problems);
    }

    /** Reads the options of this JVM: agent arguments, then system properties, then the environment. */
    public static Config load(String agentArgs) {
        return load(agentArgs, System.getProperties(), System.getenv());
    }

    public static Config load(String agentArgs, Properties properties, Map<String, String> env) {
        return new Config(new Reader(agentArgs, properties, env));
    }

    /** One line each for bad values and plan adjustments, to be logged once at startup. */
    public List<String> problems() {
        return problems;
    }

    public List<Setting> settings() {
        return settings;
    }

    /** The plan the startup line states: what happens on SIGTERM, in time. */
    public String plan() {
        return Log.format("plan: delay %s, drain <= %s, halt at %s", format(delayMillis), format(drainMillis), format(deadlineMillis));
    }

    public static long defaultDeadline(long graceMillis) {
        return graceMillis > 4000 ? graceMillis - 2000 : graceMillis / 2;
    }

    /** Parses {@code 250ms}, {@code 3s}, {@code 1m} or a bare number of milliseconds; -1 when it is none of them. */
    public static long parseDuration(String text) {
        Matcher m = DURATION.matcher(text.trim());
        if (!m.matches()) {
            return -1;
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2);
        long ms = "s".equals(unit) ? n * 1000 : "m".equals(unit) ? n * 60_000 : n;
        return ms <= MAX_DURATION_MS ? ms : -1;
    }

    public static String format(long ms) {
        if (ms == 0) {
            return "0s";
        }
        if (ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
    }

    /** The environment variable of an option: {@code lameduck.delay} is {@code LAMEDUCK_DELAY}. */
    public static String envName(String property) {
        return property.toUpperCase(Locale.ROOT).replace('.', '_');
    }

    /** Resolves raw values by precedence, and records each outcome. */
    private static final class Reader {
        final Map<String, String> arguments;
        final Properties properties;
        final Map<String, String> env;
        final List<Setting> settings = new ArrayList<>();
        final List<String> problems = new ArrayList<>();

        Reader(String agentArgs, Properties properties, Map<String, String> env) {
            this.properties = properties;
            this.env = env;
            this.arguments = parseArguments(agentArgs);
        }

        /**
         * {@code delay=3s,servers=jetty,tomcat}: options are separated by commas, and a part without {@code =}
         * continues the value before it, so that list values need no quoting.
         */
        private Map<String, String> parseArguments(String agentArgs) {
            Map<String, String> map = new LinkedHashMap<>();
            if (agentArgs == null || agentArgs.trim().isEmpty()) {
                return map;
            }
            String last = null;
            for (String part : agentArgs.split(",")) {
                int eq = part.indexOf('=');
                if (eq < 0 && last != null) {
                    map.put(last, map.get(last) + "," + part);
                } else if (eq < 0) {
                    problems.add("ignoring agent argument '" + part + "': expected name=value");
                } else {
                    String key = part.substring(0, eq).trim();
                    last = key.startsWith("lameduck.") ? key : "lameduck." + key;
                    map.put(last, part.substring(eq + 1));
                }
            }
            return map;
        }

        void unknownArguments() {
            for (String key : arguments.keySet()) {
                boolean known = false;
                for (Setting s : settings) {
                    known |= s.name.equals(key);
                }
                if (!known) {
                    problems.add("ignoring unknown agent argument " + key + "=" + arguments.get(key));
                }
            }
        }

        /** The raw value and its source, or null when no source has the option. */
        private Object[] raw(String property) {
            if (arguments.containsKey(property)) {
                return new Object[] {arguments.get(property), Source.AGENT_ARGUMENT};
            }
            String p = properties.getProperty(property);
            if (p != null) {
                return new Object[] {p, Source.SYSTEM_PROPERTY};
            }
            String e = env.get(envName(property));
            return e == null ? null : new Object[] {e, Source.ENV};
        }

        private interface Parser<T> {
            /** The parsed value, or null when the text is not of the expected form. */
            T parse(String text);
        }

        private <T> T resolve(String name, T otherwise, String shown, String meaning, String expected, Parser<T> parser, Format<T> format) {
            String property = "lameduck." + name;
            Object[] raw = raw(property);
            if (raw != null) {
                String text = (String) raw[0];
                T value = parser.parse(text);
                if (value != null) {
                    settings.add(new Setting(property, format.text(value), (Source) raw[1], meaning));
                    return value;
                }
                problems.add("ignoring " + property + "=" + text + ": expected " + expected);
            }
            settings.add(new Setting(property, shown != null ? shown : format.text(otherwise), Source.DEFAULT, meaning));
            return otherwise;
        }

        private interface Format<T> {
            String text(T value);
        }

        /** An option of two named values: true for {@code yes}, false for {@code no}. */
        boolean bool(String name, String yes, String no, boolean otherwise, String meaning) {
            return resolve(name, otherwise, null, meaning, yes + " or " + no, text -> {
                String t = text.trim().toLowerCase(Locale.ROOT);
                return yes.equals(t) ? Boolean.TRUE : no.equals(t) ? Boolean.FALSE : null;
            }, b -> b ? yes : no);
        }

        boolean bool(String name, boolean otherwise, String meaning) {
            return bool(name, "true", "false", otherwise, meaning);
        }

        long duration(String name, long otherwise, String meaning) {
            return resolve(name, otherwise, null, meaning, DURATION_FORM, text -> {
                long ms = parseDuration(text);
                return ms < 0 ? null : ms;
            }, Config::format);
        }

        Log.Level level(String name, Log.Level otherwise, String meaning) {
            return resolve(name, otherwise, null, meaning, "one of off, warn, info, debug", text -> {
                for (Log.Level l : Log.Level.values()) {
                    if (l.name().equalsIgnoreCase(text.trim())) {
                        return l;
                    }
                }
                return null;
            }, l -> l.name().toLowerCase(Locale.ROOT));
        }

        /**
         * A comma-separated list. With {@code allowed}, each element must be one of them (case-insensitive, and
         * signals may be written SIGTERM); without, each must be a path starting with /.
         */
        List<String> list(String name, List<String> otherwise, List<String> allowed, String meaning, String expected) {
            String shown = allowed == SERVER_KINDS && otherwise == SERVER_KINDS ? "all" : null;
            return resolve(name, otherwise, shown, meaning, expected, text -> {
                List<String> out = new ArrayList<>();
                String all = text.trim();
                if (allowed != null && "all".equalsIgnoreCase(all)) {
                    return allowed;
                }
                if (all.isEmpty()) {
                    return allowed == null ? out : null;
                }
                for (String part : all.split(",")) {
                    String p = part.trim();
                    if (allowed == null) {
                        if (!p.startsWith("/") || p.chars().anyMatch(Character::isWhitespace)) {
                            return null;
                        }
                        out.add(p);
                        continue;
                    }
                    String norm = allowed == SIGNALS ? p.toUpperCase(Locale.ROOT).replaceFirst("^SIG", "") : p.toLowerCase(Locale.ROOT);
                    if (!allowed.contains(norm)) {
                        return null;
                    }
                    out.add(norm);
                }
                return out;
            }, l -> l.isEmpty() ? "(none)" : String.join(",", l));
        }
    }
}
