package dev.lameduck.shutdown;

import dev.lameduck.Config;
import dev.lameduck.Log;
import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.Servers;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What starts the shutdown sequence: the configured signals and {@code System.exit}. Whatever arrives, and
 * however often, the sequence runs once, on its own thread; every trigger waits for it to finish, then lets
 * the JVM go on to its shutdown hooks with the exit code of the first trigger.
 */
public final class Trigger {
    private enum State { IDLE, RUNNING, DONE }

    private final Config config;
    private final Servers servers;
    private final Sequence sequence;
    /** Requests whose thread called System.exit and now waits for the sequence: the drain must not wait for them. */
    private final AtomicInteger waitingRequests = new AtomicInteger();
    private State state = State.IDLE;

    public Trigger(Config config, Servers servers) {
        this.config = config;
        this.servers = servers;
        this.sequence = new Sequence(config, servers);
    }

    /** Installs the handlers of the configured signals; each chains to the handler it replaces. */
    public void installSignalHandlers() {
        for (String name : config.signals) {
            try {
                Signals.handle(name, this::onSignal);
            } catch (Throwable t) {
                // -Xrs, or a signal the JVM keeps for itself: the JVM's default stays.
                Log.warn("cannot handle SIG%s (%s); it will shut down without the sequence", name, t.getMessage());
            }
        }
    }

    /** On the JVM's signal thread; {@code previous} is the handler replaced, when there was one to chain to. */
    private void onSignal(String name, int number, Runnable previous) {
        int code = 128 + number;
        boolean interrupt = "INT".equals(name);
        // The JVM's own handler ends in Shutdown.exit(128 + signal).
        Runnable exit = previous != null ? previous : () -> Runtime.getRuntime().exit(code);
        State was = begin(new Shutdown("SIG" + name, code, interrupt, System.nanoTime(), exit));
        if (was == State.RUNNING && interrupt) {
            Log.warn("second SIGINT: exiting now");
            Runtime.getRuntime().halt(code);
        } else if (was == State.RUNNING) {
            Log.info("SIG%s: the sequence is already running", name);
        }
    }

    /** From the Runtime.exit advice, on the thread that called System.exit. */
    public void onExit(int status) {
        if (isDone() || Thread.currentThread().getName().startsWith("lameduck-") || jvmShuttingDown()) {
            return;
        }
        ServerHandle serving = servingRequest(Thread.currentThread().getStackTrace());
        boolean inRequest = serving != null;
        if (inRequest) {
            waitingRequests.incrementAndGet();
            Servers.step(serving, "letting go of the exiting request", serving::letGoOfExitingRequest);
        }
        try {
            begin(new Shutdown("System.exit(" + status + ")", status, false, System.nanoTime(), () -> Runtime.getRuntime().exit(status)));
            awaitDone();
        } finally {
            if (inRequest) {
                waitingRequests.decrementAndGet();
            }
        }
    }

    /**
     * Starts the sequence unless it has started already; returns the state before. The sequence's thread is
     * not a daemon and ends by exiting the JVM itself: were it to end first, a JVM whose main thread returned
     * when its server stopped would exit with 0 before the trigger's thread could exit with the right code.
     */
    private synchronized State begin(Shutdown shutdown) {
        State was = state;
        if (state != State.IDLE) {
            return was;
        }
        state = State.RUNNING;
        Log.markTrigger(shutdown.startNanos);
        Deadline.start(shutdown, config.deadlineMillis, servers);
        Thread t = new Thread(() -> {
            try {
                sequence.run(shutdown, waitingRequests::get);
            } catch (Throwable e) {
                Log.failure("the shutdown sequence", e);
            } finally {
                finish();
            }
            shutdown.exit.run();
        }, "lameduck-shutdown");
        t.setDaemon(false);
        t.start();
        return was;
    }

    private synchronized void finish() {
        state = State.DONE;
        notifyAll();
    }

    private synchronized boolean isDone() {
        return state == State.DONE;
    }

    private synchronized void awaitDone() {
        boolean interrupted = false;
        while (state != State.DONE) {
            try {
                wait();
            } catch (InterruptedException e) {
                // A server stopping its thread pool interrupts the request thread that called System.exit.
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** The server whose request this stack is in, or null. */
    private ServerHandle servingRequest(StackTraceElement[] stack) {
        for (ServerHandle h : servers.all()) {
            try {
                if (h.isServing(stack)) {
                    return h;
                }
            } catch (Throwable ignored) {
                // Then the drain waits for this request until the drain time is up: slower, not wrong.
            }
        }
        return null;
    }

    /** System.exit from a shutdown hook, or after the last non-daemon thread ended: not ours to run. */
    private static boolean jvmShuttingDown() {
        Thread probe = new Thread(() -> { });
        try {
            Runtime.getRuntime().addShutdownHook(probe);
            Runtime.getRuntime().removeShutdownHook(probe);
            return false;
        } catch (IllegalStateException e) {
            return true;
        }
    }
}
