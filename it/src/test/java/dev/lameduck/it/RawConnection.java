package dev.lameduck.it;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * One persistent HTTP/1.1 connection, under the test's control: which connection a request travels on is the
 * point of several scenarios (a keep-alive connection opened before the signal), and pooled clients hide it.
 */
public final class RawConnection implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    public RawConnection(int port) throws IOException {
        this(plain(port));
    }

    /** Over a socket already connected (a TLS one, say). */
    public RawConnection(Socket connected) throws IOException {
        socket = connected;
        socket.setSoTimeout(30_000);
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    private static Socket plain(int port) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        return socket;
    }

    /** An answer: status, headers (lower-case names), body. */
    public record Response(int status, Map<String, String> headers, String body) {
        public boolean closes() {
            return "close".equalsIgnoreCase(headers.getOrDefault("connection", ""));
        }
    }

    public void send(String method, String target) throws IOException {
        String request = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n";
        out.write(request.getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    public Response request(String method, String target) throws IOException {
        send(method, target);
        return read();
    }

    /** Reads one response (Content-Length or chunked bodies). */
    public Response read() throws IOException {
        Head head = readHead();
        String body;
        if (head.chunked()) {
            Chunked chunked = readChunked();
            if (!chunked.terminated()) {
                throw new IOException("chunked body cut (" + chunked.end() + ") after: " + chunked.body());
            }
            body = chunked.body();
        } else {
            body = new String(readBody(head.contentLength()), StandardCharsets.UTF_8);
        }
        return new Response(head.status(), head.headers(), body);
    }

    /** A response's status and headers (lower-case names). */
    public record Head(int status, Map<String, String> headers) {
        public boolean chunked() {
            return "chunked".equalsIgnoreCase(headers.get("transfer-encoding"));
        }

        public boolean closes() {
            return "close".equalsIgnoreCase(headers.getOrDefault("connection", ""));
        }

        /** The Content-Length, or -1 when there is none. */
        public long contentLength() {
            return Long.parseLong(headers.getOrDefault("content-length", "-1"));
        }
    }

    /** Reads a response's head; an interim 100 Continue is read and skipped. */
    public Head readHead() throws IOException {
        while (true) {
            String statusLine = line();
            if (statusLine == null) {
                throw new IOException("connection closed before a response");
            }
            int status = Integer.parseInt(statusLine.split(" ")[1]);
            Map<String, String> headers = new TreeMap<>();
            for (String h; !(h = line()).isEmpty(); ) {
                int colon = h.indexOf(':');
                headers.put(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
            }
            if (status != 100) {
                return new Head(status, headers);
            }
        }
    }

    /** Reads the interim {@code 100 Continue} of a request sent with {@code Expect: 100-continue}. */
    public int readInterim() throws IOException {
        String statusLine = line();
        if (statusLine == null) {
            throw new IOException("connection closed before a response");
        }
        while (!line().isEmpty()) {
            // its headers, if any
        }
        return Integer.parseInt(statusLine.split(" ")[1]);
    }

    /**
     * A chunked body read as far as it goes: its data, whether the last chunk came ({@code terminated}), and
     * how the reading ended: {@code last chunk}, {@code eof} (closed cleanly in the middle), or the exception.
     */
    public record Chunked(String body, boolean terminated, String end) {}

    public Chunked readChunked() {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        try {
            while (true) {
                String size = line();
                if (size == null) {
                    return new Chunked(body.toString(StandardCharsets.UTF_8), false, "eof");
                }
                int n = Integer.parseInt(size.split(";")[0].trim(), 16);
                if (n == 0) {
                    line();
                    return new Chunked(body.toString(StandardCharsets.UTF_8), true, "last chunk");
                }
                byte[] data = in.readNBytes(n);
                body.write(data);
                if (data.length < n) {
                    return new Chunked(body.toString(StandardCharsets.UTF_8), false, "eof");
                }
                line();
            }
        } catch (IOException | RuntimeException e) {
            return new Chunked(body.toString(StandardCharsets.UTF_8), false, e.toString());
        }
    }

    /** Reads {@code n} bytes of a body, or fewer when the connection ends first. */
    public byte[] readBody(long n) throws IOException {
        return in.readNBytes((int) Math.max(0, n));
    }

    /** Writes bytes as they are: for requests whose bytes on the wire are the point. */
    public void write(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    public void write(String ascii) throws IOException {
        write(ascii.getBytes(StandardCharsets.US_ASCII));
    }

    /** The stream the body comes on, for a reader that takes its time. */
    public InputStream input() {
        return in;
    }

    /** Whether the server has closed the connection: the next read ends (or is reset) at once. */
    public boolean closedByServer() {
        try {
            socket.setSoTimeout(5000);
            return in.read() == -1;
        } catch (IOException e) {
            return true;
        }
    }

    private String line() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int c; (c = in.read()) != -1; ) {
            if (c == '\n') {
                return sb.toString().replaceFirst("\r$", "");
            }
            sb.append((char) c);
        }
        return sb.length() == 0 ? null : sb.toString();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
