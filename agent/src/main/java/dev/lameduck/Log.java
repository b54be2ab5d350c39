package dev.lameduck;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;

/**
 * Plain {@code [lameduck]} lines on the process's standard error.
 *
 * <p>Writes to file descriptor 2 itself, not to {@code System.err}: an application that redirects System.err
 * into its logging framework may have shut that framework down by the time the drain is logged.
 */
public final class Log {
    public enum Level { OFF, WARN, INFO, DEBUG }

    private static final PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true);
    private static volatile Level level = Level.INFO;
    /** When the shutdown sequence was triggered ({@link System#nanoTime()}), 0 before. */
    private static volatile long triggerNanos;
    private static final java.util.Set<String> failedOnce = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private Log() {}

    public static void setLevel(Level l) {
        level = l;
    }

    public static void markTrigger(long nanos) {
        triggerNanos = nanos;
    }

    public static long sinceTriggerMillis() {
        long t = triggerNanos;
        return t == 0 ? 0 : (System.nanoTime() - t) / 1_000_000;
    }

    public static boolean enabled(Level l) {
        return level != Level.OFF && l.ordinal() <= level.ordinal();
    }

    public static void warn(String format, Object... args) {
        write(Level.WARN, format, args);
    }

    public static void info(String format, Object... args) {
        write(Level.INFO, format, args);
    }

    public static void debug(String format, Object... args) {
        write(Level.DEBUG, format, args);
    }

    /** A failure inside the agent: one line, and the stack trace only at debug. */
    public static void failure(String what, Throwable t) {
        while (t instanceof java.lang.reflect.InvocationTargetException && t.getCause() != null) {
            t = t.getCause(); // the server's own exception says what went wrong
        }
        write(Level.WARN, "%s failed, carrying on without it: %s", what, t);
        if (enabled(Level.DEBUG)) {
            t.printStackTrace(err);
        }
    }

    /**
     * A failure of something that is retried (a count polled every few ms): one line the first time {@code what}
     * fails, nothing after.
     */
    public static void failureOnce(String what, Throwable t) {
        if (failedOnce.add(what)) {
            failure(what, t);
        }
    }

    /** Writes even when the level is off: what {@code java -jar} prints, and the deadline report. */
    public static void always(String line) {
        err.println(line);
    }

    private static void write(Level l, String format, Object... args) {
        if (!enabled(l)) {
            return;
        }
        String text = args.length == 0 ? format : format(format, args);
        long t = triggerNanos;
        err.println(t == 0 ? "[lameduck] " + text : "[lameduck] +" + sinceTriggerMillis() + "ms " + text);
    }

    /**
     * {@code %s} and {@code %d} (and {@code %%}), each argument as {@link String#valueOf}: all the agent's lines
     * need. Not {@link String#format}: its first use in a JVM loads the locale data (about 10 ms of the
     * application's start, for the startup line alone).
     */
    static String format(String format, Object... args) {
        StringBuilder out = new StringBuilder(format.length() + 16 * args.length);
        int next = 0;
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                out.append(c);
                continue;
            }
            char conversion = format.charAt(++i);
            if (conversion == '%') {
                out.append('%');
            } else if (conversion == 's' || conversion == 'd') {
                out.append(next < args.length ? String.valueOf(args[next++]) : "%" + conversion);
            } else {
                out.append('%').append(conversion);
            }
        }
        return out.toString();
    }
}
