package dev.lameduck.shutdown;

import dev.lameduck.Config;
import dev.lameduck.Log;
import dev.lameduck.server.CloseRamp;
import dev.lameduck.server.Listening;
import dev.lameduck.server.Readiness;
import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.Servers;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.ToIntFunction;

/**
 * The shutdown sequence of DESIGN.md, over every server of the JVM together, top to bottom:
 * lame duck, stop accepting, drain, stop. The deadline watchdog runs beside it ({@link Deadline}).
 */
final class Sequence {
    private static final long POLL_MILLIS = 5;
    private static final long QUIET_MILLIS = 50;
    /** How often the adaptive lame duck (delay.quiet) looks for new connections. */
    private static final long QUIET_POLL_MILLIS = 20;
    /**
     * How long the drain waits for the WebSockets sent Going Away to close (their client's close frame, or the server
     * closing after its own): a WebSocket never holds the drain to its limit.
     */
    private static final long WEBSOCKET_CLOSE_MILLIS = 1000;
    /** How long the servers' own stop may take before the exit goes on without it. */
    static final long STOP_MILLIS = 3000;

    private final Config config;
    private final Servers servers;

    Sequence(Config config, Servers servers) {
        this.config = config;
        this.servers = servers;
    }

    /**
     * Runs the whole sequence on the calling thread.
     *
     * @param waitingRequests how many requests are themselves waiting for this sequence (they called
     *     System.exit): the drain does not wait for them, or it would wait for itself
     */
    void run(Shutdown shutdown, IntSupplier waitingRequests) {
        List<ServerHandle> all = servers.all();
        long completedBefore = completed(all);
        int inFlightAtStart = inFlight(all);
        if (all.isEmpty()) {
            sayIfItListensAnyway();
        }

        // 1. Lame duck: serve everything, but send clients elsewhere; readiness paths answer 503.
        // Connections are told to go (Connection: close, GOAWAY) gradually over the delay, or all at once.
        long delay = shutdown.skipsDelay || all.isEmpty() ? 0 : config.delayMillis;
        long ramp = CloseRamp.start(delay, config.gradualClose);
        Readiness.lameDuckStarted();
        for (ServerHandle h : all) {
            Servers.step(h, "lame duck", h::lameDuck);
        }
        Log.info("%s: lame duck for %dms (%d in flight); %s", shutdown.trigger, delay, inFlightAtStart,
                ramp > 0 ? "connections told to close over " + ramp + "ms" : "every connection told to close");
        delay = lameDuckWait(all, delay);
        CloseRamp.everyone();

        // 2. Stop accepting: new connections are refused from here on.
        all = withLateStarters(all);
        for (ServerHandle h : all) {
            Servers.step(h, "stop accepting", h::stopAccepting);
        }
        // WebSockets are told now (1001 Going Away): they stay open as long as their clients like, unlike requests.
        int webSockets = sayGoingAway(all);
        Log.info("stopped accepting on %s; draining %d in flight%s", Servers.describe(all), inFlight(all) - waitingRequests.getAsInt(),
                webSockets > 0 ? "; " + webSockets + " WebSocket(s) sent Going Away" : "");

        // 3. Drain: requests on open connections are served until none is left, or the drain time is up.
        long drainStart = System.nanoTime();
        long drainEnd = drainStart + TimeUnit.MILLISECONDS.toNanos(config.drainMillis);
        long webSocketsEnd = drainStart + TimeUnit.MILLISECONDS.toNanos(Math.min(WEBSOCKET_CLOSE_MILLIS, config.drainMillis));
        boolean drained = awaitDrain(all, waitingRequests, drainEnd, webSockets > 0 ? webSocketsEnd : drainStart);
        long drainMillis = (System.nanoTime() - drainStart) / 1_000_000;
        int aborted = inFlight(all);
        if (drained) {
            Log.info("drained; stopping servers");
        } else {
            Log.warn("drain ended after %dms with %d in flight; stopping servers, aborting: %s", drainMillis, aborted, inFlightList(all));
        }

        // 4. Stop each server, then return so that the JVM's own shutdown hooks run.
        stopAll(servers.all());
        Log.info("done: trigger=%s delay=%dms drain=%dms served-during=%d aborted=%d exit=%d", shutdown.trigger, delay,
                drainMillis, Math.max(0, completed(all) - completedBefore), aborted, shutdown.exitCode);
    }

    /** A JVM that listens while the agent knows none of its servers gets no lame duck: one line says so. */
    private void sayIfItListensAnyway() {
        List<Integer> ports = Listening.ports();
        if (!ports.isEmpty()) {
            StringBuilder listed = new StringBuilder();
            for (int port : ports) {
                listed.append(listed.length() == 0 ? ":" : ", :").append(port);
            }
            Log.warn("no known server in this JVM, yet it listens on %s: no lame duck, no drain (servers known: %s)", listed,
                    String.join(", ", config.servers));
        }
    }

    /**
     * The lame duck's wait: the whole delay, or with {@code delay.quiet} until no new connection and no new request
     * has arrived for that long (never shorter than {@code delay.min}): a pod that no longer receives traffic need
     * not wait. Connections are sampled, so a short one can slip between two looks; its request cannot, since
     * requests started (completed + in flight) only grow, and in the lame duck each HTTP/1.1 request comes on a
     * connection of its own. Returns how long it waited.
     */
    private long lameDuckWait(List<ServerHandle> all, long delay) {
        long quiet = config.delayQuietMillis;
        Set<Object> seen = quiet > 0 ? newConnections(all, null) : null;
        if (seen == null || delay == 0) {
            sleep(delay);
            return delay;
        }
        long start = System.nanoTime();
        long lastNew = start;
        long started = completed(all) + inFlight(all);
        while (true) {
            long now = System.nanoTime();
            long waited = (now - start) / 1_000_000;
            if (waited >= delay) {
                return waited;
            }
            if (waited >= config.delayMinMillis && (now - lastNew) / 1_000_000 >= quiet) {
                Log.info("lame duck ended after %dms: no new connection or request for %dms", waited, quiet);
                return waited;
            }
            sleep(Math.min(QUIET_POLL_MILLIS, delay - waited));
            Set<Object> fresh = newConnections(all, seen);
            if (fresh == null) {
                sleep(delay - (System.nanoTime() - start) / 1_000_000); // a server stopped telling: the whole delay
                return delay;
            }
            long startedNow = completed(all) + inFlight(all);
            if (!fresh.isEmpty() || startedNow > started) {
                lastNew = System.nanoTime();
            }
            started = Math.max(started, startedNow);
        }
    }

    /**
     * The servers now registered: those that started during the lame duck (their application was still starting
     * when the signal came) are sent into it too, late, before they stop accepting with the others.
     */
    private List<ServerHandle> withLateStarters(List<ServerHandle> before) {
        List<ServerHandle> now = servers.all();
        for (ServerHandle h : now) {
            if (!before.contains(h)) {
                Log.info("%s started during the lame duck", h.describe());
                Servers.step(h, "lame duck", h::lameDuck);
            }
        }
        return now;
    }

    /**
     * The connections of all servers not in {@code seen}, which they are added to (all of them when {@code seen}
     * is null; then the returned set is the new {@code seen}); null if a server cannot tell its connections.
     */
    private static Set<Object> newConnections(List<ServerHandle> all, Set<Object> seen) {
        Set<Object> fresh = Collections.newSetFromMap(new IdentityHashMap<>());
        for (ServerHandle h : all) {
            Collection<?> connections;
            try {
                connections = h.connections();
            } catch (RuntimeException e) {
                Log.failureOnce("listing the connections of " + h.describe(), e);
                connections = null;
            }
            if (connections == null) {
                Log.debug("%s cannot tell its connections: the lame duck lasts the whole delay", h.describe());
                return null;
            }
            for (Object c : connections) {
                if (seen == null || seen.add(c)) {
                    fresh.add(c);
                }
            }
        }
        return fresh;
    }

    /**
     * Drained once nothing is in flight, but never sooner than {@link #QUIET_MILLIS} after the listeners closed: a
     * connection accepted just before may carry a request that no server has picked up yet, and stopping now would
     * reset it. Later, nothing new can come (open connections were told to close or go away), so the drain ends
     * as soon as the last request does, and the WebSockets sent Going Away have closed (until
     * {@code webSocketsEndNanos} at most).
     */
    private static boolean awaitDrain(List<ServerHandle> all, IntSupplier waitingRequests, long endNanos, long webSocketsEndNanos) {
        long settled = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(QUIET_MILLIS);
        while (true) {
            boolean busy = inFlight(all) - waitingRequests.getAsInt() > 0;
            long now = System.nanoTime();
            boolean closing = now - webSocketsEndNanos < 0 && openWebSockets(all) > 0;
            if (!busy && !closing && now - settled >= 0) {
                return true;
            }
            if (busy && now - endNanos >= 0) {
                return false;
            }
            sleep(POLL_MILLIS);
        }
    }

    /**
     * Stops all servers at once; each stop may block while it closes connections and joins its threads. A stop
     * that takes longer than {@link #STOP_MILLIS} is left behind (its thread is a daemon): the JVM's hooks and
     * exit matter more, and the deadline still watches.
     */
    private static void stopAll(List<ServerHandle> all) {
        List<Thread> stopping = new ArrayList<>();
        for (ServerHandle h : all) {
            Thread t = new Thread(() -> Servers.step(h, "stop", h::stop), "lameduck-stop " + h.describe());
            t.setDaemon(true);
            t.start();
            stopping.add(t);
        }
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(STOP_MILLIS);
        for (Thread t : stopping) {
            joinUntil(t, end);
            if (t.isAlive()) {
                Log.warn("%s still stopping after %dms; going on with the exit", t.getName().substring("lameduck-stop ".length()), STOP_MILLIS);
            }
        }
    }

    private static int sayGoingAway(List<ServerHandle> all) {
        return sum(all, "closing the WebSockets", ServerHandle::sayGoingAway);
    }

    private static int openWebSockets(List<ServerHandle> all) {
        return sum(all, "counting the WebSockets", ServerHandle::openWebSockets);
    }

    static int inFlight(List<ServerHandle> all) {
        return sum(all, "counting the requests in flight", ServerHandle::inFlight);
    }

    /** {@code count} over every server; one that fails is logged once and counts 0. */
    private static int sum(List<ServerHandle> all, String what, ToIntFunction<ServerHandle> count) {
        int n = 0;
        for (ServerHandle h : all) {
            try {
                n += count.applyAsInt(h);
            } catch (Throwable t) {
                Log.failureOnce(what + " of " + h.describe(), t);
            }
        }
        return n;
    }

    static String inFlightList(List<ServerHandle> all) {
        List<String> lines = new ArrayList<>();
        for (ServerHandle h : all) {
            try {
                for (String r : h.describeInFlight()) {
                    lines.add(h.ports() + " " + r);
                }
            } catch (Throwable t) {
                lines.add(h.describe() + ": (unknown: " + t + ")");
            }
        }
        return lines.isEmpty() ? "(none listed)" : String.join("; ", lines);
    }

    private static long completed(List<ServerHandle> all) {
        long n = 0;
        for (ServerHandle h : all) {
            try {
                n += h.completed();
            } catch (Throwable ignored) {
                // Only the summary line's count suffers.
            }
        }
        return n;
    }

    /** Sleeps the whole time even when interrupted: the phase's length is the contract. */
    static void sleep(long millis) {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        boolean interrupted = false;
        for (long left = millis; left > 0; left = TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime())) {
            try {
                Thread.sleep(left);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static void joinUntil(Thread t, long endNanos) {
        boolean interrupted = false;
        for (long left; t.isAlive() && (left = TimeUnit.NANOSECONDS.toMillis(endNanos - System.nanoTime())) > 0; ) {
            try {
                t.join(left);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
