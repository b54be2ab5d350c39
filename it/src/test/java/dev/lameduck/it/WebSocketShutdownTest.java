package dev.lameduck.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lameduck.it.AppProcess.Options;
import java.io.DataInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * WebSockets at shutdown: they keep working in the lame duck; when accepting stops each gets a close frame 1001
 * (Going Away), and the drain waits for their close handshake only briefly, so that a WebSocket never holds the
 * drain to its limit (drain=20s here: an exit within seconds shows it) and none is cut without a close frame.
 * On the oldest and newest version of each server, each app's echo endpoint at {@code /ws} (a JSR 356 endpoint on
 * Tomcat, Jetty's own API, Undertow's core handler).
 */
class WebSocketShutdownTest {
    private static final Duration PROMPTLY = Duration.ofSeconds(10);
    private static final Pattern DRAIN = Pattern.compile("done: .* drain=(\\d+)ms");

    /** Also Jetty 10 (the WebSocket core's {@code internal} package, 10 and 11) and Spring's WebSocket support. */
    static Stream<TestApp> apps() {
        return Stream.concat(TlsShutdownTest.apps(), Stream.of(TestApp.JETTY_10, TestApp.SPRING_BOOT_3_5).filter(TestApp.HTTP::contains));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("apps")
    void aWebSocketWorksInTheLameDuckThenGetsGoingAwayAndTheDrainEndsAtItsClose(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=1s,drain=20s"), AppProcess.logName(test))) {
            Listener listener = new Listener();
            WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
                    .buildAsync(URI.create("ws://127.0.0.1:" + p.port() + "/ws"), listener).get(10, TimeUnit.SECONDS);
            ws.sendText("before", true).get(5, TimeUnit.SECONDS);
            assertEquals("before", listener.texts.poll(5, TimeUnit.SECONDS));

            p.signal("TERM");
            p.awaitLine("SIGTERM: lame duck for 1000ms", PROMPTLY);
            ws.sendText("in the lame duck", true).get(5, TimeUnit.SECONDS);
            assertEquals("in the lame duck", listener.texts.poll(5, TimeUnit.SECONDS), "served in the lame duck");
            assertEquals(-1, p.lineIndex("stopped accepting"), "still in the lame duck");

            assertTrue(p.awaitLine("stopped accepting", PROMPTLY).contains("1 WebSocket(s) sent Going Away"), p.output());
            assertEquals(1001, listener.closed.get(5, TimeUnit.SECONDS), "closed with 1001 Going Away");
            assertEquals(143, p.awaitExit(PROMPTLY));
            assertTrue(drainMillis(p) < 500, "the drain ended with the close handshake, not at its bound: " + p.output());
        }
    }

    /** A client that never answers the close frame: the drain waits for it a second at most, then the stop closes it. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("apps")
    void aWebSocketWhoseClientNeverClosesGetsItsCloseFrameAndHoldsTheDrainASecondAtMost(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=300ms,drain=20s"), AppProcess.logName(test));
                RawConnection raw = new RawConnection(p.port())) {
            raw.write("GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
            assertEquals(101, raw.readHead().status());
            Thread.sleep(200);

            p.signal("TERM");
            DataInputStream in = new DataInputStream(raw.input());
            int first = in.readUnsignedByte();
            assertEquals(0x88, first, "a whole close frame, no other frame first");
            int length = in.readUnsignedByte();
            assertTrue(length >= 2 && length < 126, "unmasked, with a status: " + length);
            byte[] payload = new byte[length];
            in.readFully(payload);
            assertEquals(1001, ((payload[0] & 0xff) << 8) | (payload[1] & 0xff), new String(payload, 2, length - 2, StandardCharsets.UTF_8));
            assertEquals(143, p.awaitExit(PROMPTLY));
            assertTrue(drainMillis(p) < 1500, "held the drain a second at most: " + p.output());
        }
    }

    private static long drainMillis(AppProcess p) {
        Matcher m = DRAIN.matcher(p.output());
        assertTrue(m.find(), p.output());
        return Long.parseLong(m.group(1));
    }

    private static final class Listener implements WebSocket.Listener {
        final BlockingQueue<String> texts = new LinkedBlockingQueue<>();
        final CompletableFuture<Integer> closed = new CompletableFuture<>();
        private final StringBuilder text = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                texts.add(text.toString());
                text.setLength(0);
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
            closed.complete(status);
            return null; // the JDK's client answers with a close frame of its own
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            closed.completeExceptionally(error);
        }
    }
}
