package dev.lameduck.server;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Which connections the lame duck has told to go: an HTTP/1.1 connection gets {@code Connection: close} on its
 * next response, an HTTP/2 or gRPC connection a graceful GOAWAY. Every server asks it, per response or per
 * connection, so that they all follow one schedule.
 *
 * <p>Gradual ({@code lameduck.delay.close=gradual}, the default): each connection has a fixed place in [0, 1),
 * drawn from its identity, and is told once the ramp has passed it; the ramp rises evenly from 0 at the lame
 * duck's start to 1 at {@link #RAMP_SHARE} of the delay. So the share of connections told grows evenly and
 * clients move away over the period instead of all at once (Envoy's gradual drain does the same per response),
 * while the server keeps the capacity of its keep-alive connections: telling every response at once cost Jetty
 * 74 % of its requests/s in the lame duck (issue 20). A connection stays told once told (the ramp only rises),
 * one opened later is placed like any other, and every connection that sends a request in the last fifth of
 * the delay is told before accepting stops. Immediate: every connection from the start.
 */
public final class CloseRamp {
    /** Where in the delay the ramp reaches 1: the rest is for the slowest keep-alive client to be told. */
    static final double RAMP_SHARE = 0.8;
    /** Mixed into each connection's place so that it differs between JVMs (and so between pods). */
    private static final int SEED = ThreadLocalRandom.current().nextInt();

    private static volatile boolean started;
    private static volatile long startNanos;
    /** How long the ramp takes; 0: every connection is told. */
    private static volatile long rampNanos;

    private CloseRamp() {}

    /**
     * The lame duck starts: connections are told gradually over {@link #RAMP_SHARE} of {@code delayMillis}, or at
     * once when not {@code gradual} or there is no delay. Returns the ramp's length in ms (0: at once).
     */
    public static long start(long delayMillis, boolean gradual) {
        long ramp = gradual ? (long) (delayMillis * RAMP_SHARE) : 0;
        startNanos = System.nanoTime();
        rampNanos = TimeUnit.MILLISECONDS.toNanos(ramp);
        started = true;
        return ramp;
    }

    /** From now on every connection is told: the lame duck is over, or ends early. */
    public static void everyone() {
        rampNanos = 0;
        started = true;
    }

    /** Whether the lame duck has begun: before it, no connection is told. */
    public static boolean started() {
        return started;
    }

    /** Whether {@code connection} (the server's object for it, the same all its life) is to be told now. */
    public static boolean tells(Object connection) {
        if (!started) {
            return false;
        }
        long ramp = rampNanos;
        if (ramp <= 0) {
            return true;
        }
        double reached = (System.nanoTime() - startNanos) / (double) ramp;
        return reached >= 1 || reached > place(connection);
    }

    /**
     * Whether every connection is to be told now, whatever its place: immediate, no delay, the ramp is over, or the
     * lame duck is. For a server that tells connections in bulk rather than one by one (Tomcat: no per-response
     * hook), so that a connection opened from now on is told on its first response.
     */
    public static boolean tellsEveryone() {
        if (!started) {
            return false;
        }
        long ramp = rampNanos;
        return ramp <= 0 || System.nanoTime() - startNanos >= ramp;
    }

    /** The connection's place on the ramp: its identity hash, mixed, as a number in [0, 1). */
    static double place(Object connection) {
        int h = System.identityHashCode(connection) ^ SEED;
        h *= 0x9E3779B9;
        h ^= h >>> 16;
        h *= 0x85EBCA6B;
        h ^= h >>> 13;
        return (h >>> 1) / (double) (1L << 31);
    }

    /** For tests of one JVM's agent code only: back to before the lame duck. */
    static void reset() {
        started = false;
        rampNanos = 0;
    }
}
