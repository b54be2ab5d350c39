package dev.lameduck.shutdown;

import dev.lameduck.Log;
import dev.lameduck.server.Servers;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The hard deadline: the orchestrator's SIGKILL comes at the grace period, so shortly before it, if the JVM is
 * still alive (the sequence, a server's stop or a shutdown hook hangs), say what is stuck and halt with the
 * exit code the shutdown was meant to end with.
 */
final class Deadline {
    private Deadline() {}

    static void start(Shutdown shutdown, long deadlineMillis, Servers servers) {
        Thread t = new Thread(() -> {
            long end = shutdown.startNanos + TimeUnit.MILLISECONDS.toNanos(deadlineMillis);
            for (long left = end - System.nanoTime(); left > 0; left = end - System.nanoTime()) {
                try {
                    TimeUnit.NANOSECONDS.sleep(left);
                } catch (InterruptedException ignored) {
                    // Only the halt ends this thread.
                }
            }
            report(shutdown, deadlineMillis, servers);
            Runtime.getRuntime().halt(shutdown.exitCode);
        }, "lameduck-deadline");
        t.setDaemon(true);
        t.start();
    }

    private static void report(Shutdown shutdown, long deadlineMillis, Servers servers) {
        try {
            Log.warn("deadline %dms reached after %s, halting with exit code %d", deadlineMillis, shutdown.trigger, shutdown.exitCode);
            Log.warn("stuck requests: %s", Sequence.inFlightList(servers.all()));
            for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
                Thread t = e.getKey();
                if (t.isDaemon() || t == Thread.currentThread()) {
                    continue;
                }
                StringBuilder sb = new StringBuilder("non-daemon thread \"").append(t.getName()).append("\" ").append(t.getState());
                for (StackTraceElement frame : e.getValue()) {
                    sb.append("\n[lameduck]     at ").append(frame);
                }
                Log.warn("%s", sb);
            }
        } catch (Throwable t) {
            // The halt matters more than the report.
        }
    }
}
