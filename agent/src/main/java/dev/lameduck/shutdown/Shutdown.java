package dev.lameduck.shutdown;

/** One shutdown, as triggered: what started it, the exit code it ends with, and when it started. */
final class Shutdown {
    final String trigger;
    final int exitCode;
    /** SIGINT: a person is waiting, so there is no lame-duck delay. */
    final boolean skipsDelay;
    final long startNanos;
    /** How the JVM then goes on to its shutdown hooks: the signal's own handler, or Runtime.exit. */
    final Runnable exit;

    Shutdown(String trigger, int exitCode, boolean skipsDelay, long startNanos, Runnable exit) {
        this.trigger = trigger;
        this.exitCode = exitCode;
        this.skipsDelay = skipsDelay;
        this.startNanos = startNanos;
        this.exit = exit;
    }
}
