package dev.lameduck.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lameduck.it.AppProcess.Options;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The drain contract for each shape of HTTP/1.1 traffic, not only small fixed-length answers: streamed responses
 * of unknown length, never-ending ones (server-sent events), large downloads, uploads (fixed length, chunked,
 * {@code Expect: 100-continue}), bodies the application does not read, HTTP/1.0 and pipelined requests. The
 * client is a raw socket: the framing and how the connection ends are the point.
 */
class TrafficShapeTest {
    private static final Duration PROMPTLY = Duration.ofSeconds(10);

    /** The framing: every app, relocated builds and frameworks too (each server version has code of its own). */
    static Stream<TestApp> apps() {
        return TestApp.HTTP.stream();
    }

    /** The other shapes: the oldest and newest version of each server (CI time; the code paths are per server). */
    static Stream<TestApp> oldestAndNewest() {
        return TestApp.HTTP.stream().filter(app -> !app.isAVariant() && app.isOldestOrNewest());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("apps")
    void inTheLameDuckResponsesKeepTheirFramingAndTheConnectionClosesAfterThem(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=2500ms,delay.close=immediate"), AppProcess.logName(test));
                RawConnection keptAlive = new RawConnection(p.port())) {
            assertEquals(200, keptAlive.request("GET", "/health").status());
            p.signal("TERM");
            p.awaitLine("SIGTERM: lame duck for 2500ms", PROMPTLY);

            // Unknown length, flushed as it goes: chunked, as without the agent, with Connection: close.
            keptAlive.send("GET", "/stream?chunks=4&ms=50");
            assertStreamedInFull(keptAlive, 4, "on a connection kept alive from before the signal");
            try (RawConnection fresh = new RawConnection(p.port())) {
                fresh.send("GET", "/stream?chunks=4&ms=50");
                assertStreamedInFull(fresh, 4, "on a new connection");
            }
            // A known length stays a Content-Length.
            try (RawConnection fresh = new RawConnection(p.port())) {
                fresh.send("GET", "/download?mb=1");
                RawConnection.Head head = fresh.readHead();
                assertEquals(200, head.status());
                assertEquals(1 << 20, head.contentLength(), "fixed length kept: " + head.headers());
                assertFalse(head.chunked(), head.headers().toString());
                assertTrue(head.closes(), head.headers().toString());
                assertArrayEquals(pattern(1 << 20), fresh.readBody(1 << 20));
                assertEquals("eof", ending(fresh.input()), "closed after the response");
            }
            // HTTP/1.0 has no chunked coding: the body ends with the connection.
            try (RawConnection old = new RawConnection(p.port())) {
                old.write("GET /stream?chunks=3&ms=10 HTTP/1.0\r\nHost: localhost\r\n\r\n");
                RawConnection.Head head = old.readHead();
                assertEquals(200, head.status());
                if (app.chunksForHttp10()) {
                    assertTrue(head.chunked() && head.closes(), "as without the agent: " + head.headers());
                    assertEquals(lines(3), old.readChunked().body());
                } else {
                    assertFalse(head.chunked(), "no chunked coding for HTTP/1.0: " + head.headers());
                    assertEquals(lines(3), new String(old.input().readAllBytes(), StandardCharsets.UTF_8));
                }
            }
            assertEquals(-1, p.lineIndex("stopped accepting"), "all of the above happened in the lame duck");
            assertEquals(143, p.awaitExit(PROMPTLY));
        }
    }

    /**
     * A response that never ends by itself (server-sent events) holds the drain to its end: it is counted in flight,
     * named in the report, and cut with its chunked framing intact, so that the client sees the cut (no last
     * chunk) instead of a clean end of a body that looks complete.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("oldestAndNewest")
    void aNeverEndingResponseIsCountedNamedAndCutVisibly(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=1s,drain=1s,delay.close=immediate"), AppProcess.logName(test))) {
            p.signal("TERM");
            p.awaitLine("SIGTERM: lame duck for 1000ms", PROMPTLY);
            try (RawConnection events = new RawConnection(p.port())) {
                events.send("GET", "/sse?ms=100");
                RawConnection.Head head = events.readHead();
                assertEquals(200, head.status());
                assertTrue(head.chunked(), "an event stream of unknown length stays chunked: " + head.headers());
                assertTrue(head.closes(), head.headers().toString());
                RawConnection.Chunked body = events.readChunked();
                assertFalse(body.terminated(), "cut at the drain's end, visibly: " + body);
                assertTrue(body.body().startsWith("data: tick 0\n\n"), body.body());
            }
            assertTrue(p.awaitLine("drain ended after \\d+ms with 1 in flight", PROMPTLY).contains("GET /sse"), "named in the report");
            assertEquals(143, p.awaitExit(PROMPTLY));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("oldestAndNewest")
    void aLargeDownloadToASlowReaderInProgressAtSigtermCompletesInTheDrain(TestApp app, TestInfo test) throws Exception {
        int size = 20 << 20;
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=0,drain=20s"), AppProcess.logName(test));
                RawConnection download = new RawConnection(p.port())) {
            download.send("GET", "/download?mb=20");
            RawConnection.Head head = download.readHead();
            assertEquals(size, head.contentLength());
            byte[] body = new byte[size];
            int read = readSlowly(download.input(), body, 0, 2 << 20);
            p.signal("TERM");
            p.awaitLine("stopped accepting", PROMPTLY);
            read = readSlowly(download.input(), body, read, size - read);
            assertEquals(size, read, "every byte arrived");
            assertArrayEquals(pattern(size), body);
            assertEquals(143, p.awaitExit(PROMPTLY));
            p.awaitLine("drained; stopping servers", PROMPTLY);
        }
    }

    /** Fixed-length, chunked and {@code Expect: 100-continue} uploads, half sent before the signal, half in the drain. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("oldestAndNewest")
    void uploadsInProgressAtSigtermAreReadToTheEndAndAnswered(TestApp app, TestInfo test) throws Exception {
        int half = 2 << 20;
        byte[] part = pattern(half);
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=0,drain=20s"), AppProcess.logName(test));
                RawConnection fixed = new RawConnection(p.port());
                RawConnection chunked = new RawConnection(p.port());
                RawConnection expecting = new RawConnection(p.port())) {
            fixed.write("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + 2 * half + "\r\n\r\n");
            fixed.write(part);
            chunked.write("POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n");
            writeChunk(chunked, part);
            expecting.write("POST /upload HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: " + 2 * half + "\r\n\r\n");
            assertEquals(100, expecting.readInterim(), "the server asks for the body");
            expecting.write(part);
            Thread.sleep(300);

            p.signal("TERM");
            p.awaitLine("stopped accepting on :" + p.port() + "; draining 3 in flight", PROMPTLY);
            fixed.write(part);
            writeChunk(chunked, part);
            chunked.write("0\r\n\r\n");
            expecting.write(part);
            for (RawConnection c : List.of(fixed, chunked, expecting)) {
                RawConnection.Response r = c.read();
                assertEquals(200, r.status());
                assertEquals("received " + 2 * half, r.body());
            }
            assertEquals(143, p.awaitExit(PROMPTLY));
            p.awaitLine("drained; stopping servers", PROMPTLY);
        }
    }

    /**
     * A body the application does not read is still on the connection when the server closes it after the
     * response: a plain close would make the kernel reset the connection, and the client could lose the response
     * it has not read yet. The server must close gracefully (read and discard, or linger).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("oldestAndNewest")
    void anUnreadRequestBodyDoesNotTurnTheCloseIntoAReset(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=4s,delay.close=immediate"), AppProcess.logName(test))) {
            p.signal("TERM");
            p.awaitLine("SIGTERM: lame duck for 4000ms", PROMPTLY);
            try (RawConnection c = new RawConnection(p.port())) {
                c.write("POST /upload?read=false HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + (256 << 10) + "\r\n\r\n");
                c.write(pattern(256 << 10));
                Thread.sleep(200); // the response is written and the connection closing while the client has not read
                RawConnection.Response r = c.read();
                assertEquals(200, r.status());
                assertEquals("not read", r.body());
                assertTrue(r.closes(), r.headers().toString());
            }
            assertEquals(143, p.awaitExit(PROMPTLY));
        }
    }

    /** Two requests sent at once on one connection in the lame duck: both answered, or the second cleanly not. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("oldestAndNewest")
    void pipelinedRequestsInTheLameDuckAreAnsweredOrCleanlyNot(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=4s,delay.close=immediate"), AppProcess.logName(test))) {
            p.signal("TERM");
            p.awaitLine("SIGTERM: lame duck for 4000ms", PROMPTLY);
            try (RawConnection c = new RawConnection(p.port())) {
                String one = "GET /work?ms=50 HTTP/1.1\r\nHost: localhost\r\n\r\n";
                c.write(one + one);
                RawConnection.Response first = c.read();
                assertEquals(200, first.status());
                assertEquals("ok", first.body());
                assertTrue(first.closes(), first.headers().toString());
                String end = ending(c.input());
                assertTrue(end.equals("eof") || end.startsWith("HTTP/1.1 200"), "the second answered in full or not at all, never reset: " + end);
            }
            assertEquals(143, p.awaitExit(PROMPTLY));
        }
    }

    static void assertStreamedInFull(RawConnection c, int chunks, String where) throws IOException {
        RawConnection.Head head = c.readHead();
        assertEquals(200, head.status(), where);
        assertTrue(head.chunked(), "chunked stays chunked " + where + ": " + head.headers());
        assertTrue(head.closes(), "Connection: close " + where + ": " + head.headers());
        RawConnection.Chunked body = c.readChunked();
        assertTrue(body.terminated(), "the last chunk came " + where + ": " + body);
        assertEquals(lines(chunks), body.body(), where);
        assertEquals("eof", ending(c.input()), "the server closed the connection after it " + where);
    }

    /** What follows on a connection after a response: {@code eof}, the next bytes (text), or how it failed. */
    static String ending(InputStream in) {
        try {
            byte[] rest = in.readAllBytes();
            return rest.length == 0 ? "eof" : new String(rest, StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static String lines(int n) {
        return IntStream.range(0, n).mapToObj(i -> "chunk " + i + "\n").collect(Collectors.joining());
    }

    /** The bytes of /download: byte i is i % 251. */
    static byte[] pattern(int size) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) (i % 251);
        }
        return b;
    }

    /** Reads {@code n} bytes into {@code into} at {@code from}, at about 8 MB/s; returns the new end. */
    private static int readSlowly(InputStream in, byte[] into, int from, int n) throws IOException, InterruptedException {
        int end = from;
        while (end < from + n) {
            int got = in.read(into, end, Math.min(64 << 10, from + n - end));
            if (got < 0) {
                break;
            }
            end += got;
            Thread.sleep(got / 8192); // ~8 kB per ms
        }
        return end;
    }

    private static void writeChunk(RawConnection c, byte[] data) throws IOException {
        c.write(Integer.toHexString(data.length) + "\r\n");
        c.write(data);
        c.write("\r\n");
    }
}
