package dev.lameduck.netty;

import dev.lameduck.Log;
import dev.lameduck.server.CloseRamp;
import java.util.function.BiFunction;
import java.util.function.BiPredicate;
import java.util.function.Consumer;

/**
 * One accepted connection, as the agent sees it through its {@link HttpObserverClass observer}: the HTTP/1 requests
 * read and not yet answered in full, and whether the response being written was told to close. Its three methods
 * run on the connection's event loop, for each message read, each message written and the close; what other
 * threads read (the drain's count) is volatile.
 */
final class NettyConnection implements BiPredicate<Object, Object>, BiFunction<Object, Object, Object>, Consumer<Object> {
    final Object channel;
    private final NettyHandle server;
    private final NettyTypes.Http types;

    /** HTTP/1 requests read and not yet answered in full (pipelining: more than one). Written on the event loop only. */
    volatile int inFlight;
    /** The latest request read and its time, for the drain's report. */
    volatile Object request;
    volatile long since;
    /** The response being written carries {@code Connection: close}: the connection closes after its last part. */
    private boolean closing;
    /** A readiness path answered 503 by the agent: the rest of that request is not the application's. */
    private boolean swallowing;

    /** The connection's HTTP/2 handler ({@code Http2ConnectionHandler}) once seen, and whether it was sent its GOAWAY. */
    volatile Object http2;
    volatile boolean wentAway;
    /** The observer is in the pipeline (or the connection is no HTTP one): the installer is done. */
    volatile boolean settled;

    NettyConnection(NettyHandle server, NettyTypes.Http types, Object channel) {
        this.server = server;
        this.types = types;
        this.channel = channel;
    }

    /** A message read: true when the agent answered it itself (a readiness path in the lame duck), so it goes no further. */
    @Override
    public boolean test(Object ctx, Object msg) {
        if (types.request.isInstance(msg)) {
            if (server.lameDuck && server.answeredNotReady(ctx, msg)) {
                swallowing = !types.lastContent.isInstance(msg);
                return true;
            }
            request = msg;
            since = System.nanoTime();
            inFlight++;
        } else if (swallowing && types.content.isInstance(msg)) {
            swallowing = !types.lastContent.isInstance(msg);
            types.release(msg);
            return true;
        }
        return false;
    }

    /**
     * A message written: a response's head gets {@code Connection: close} once the ramp has passed its connection
     * (its framing is the application's and the codec's: a chunked response stays chunked); its last part ends the
     * request. {@code TRUE} when the connection is to close once that last part is written.
     */
    @Override
    public Object apply(Object ctx, Object msg) {
        if (types.response.isInstance(msg)) {
            int status = types.status(msg);
            if (status == 101) { // switched protocols (a WebSocket, h2c): the HTTP/1 request is over
                done();
                return Boolean.FALSE;
            }
            if (status < 200) {
                return Boolean.FALSE; // 100 Continue: the request goes on
            }
            if (server.lameDuck && CloseRamp.tells(channel)) {
                try {
                    types.closeAfter(msg);
                    closing = true;
                } catch (Exception e) {
                    Log.debug("Connection: close on %s: %s", channel, e);
                }
            }
        }
        if (types.lastContent.isInstance(msg) && inFlight > 0) {
            done();
            if (closing && inFlight == 0) {
                closing = false;
                return Boolean.TRUE;
            }
        }
        return Boolean.FALSE;
    }

    /** A request went by before the observer was put in (see NettyHandle.installEvent): it is in flight until its response ends. */
    void readWithoutObserver() {
        since = System.nanoTime();
        inFlight++;
    }

    private void done() {
        if (inFlight > 0) {
            inFlight--;
        }
        if (inFlight == 0) {
            request = null;
        }
        server.completed.increment();
    }

    /** The connection closed. */
    @Override
    public void accept(Object ctx) {
        inFlight = 0;
        request = null;
        server.closed(this);
    }
}
