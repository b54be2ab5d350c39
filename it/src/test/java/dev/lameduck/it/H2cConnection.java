package dev.lameduck.it;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * One cleartext HTTP/2 connection (prior knowledge), frame by frame: enough to send GET requests and to see the
 * frames a server sends back, GOAWAY above all, which HTTP/2 clients act on without telling their users.
 */
public final class H2cConnection implements AutoCloseable {
    static final int DATA = 0, HEADERS = 1, SETTINGS = 4, PING = 6, GOAWAY = 7;

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;

    /** A frame as received: type, flags, stream and payload. */
    public record Frame(int type, int flags, int stream, byte[] payload) {
        boolean endsStream() {
            return (flags & 0x1) != 0;
        }

        /** For GOAWAY: the error code (0 is NO_ERROR). */
        int goAwayError() {
            return ByteBuffer.wrap(payload, 4, 4).getInt();
        }
    }

    /** {@code :scheme} from the static table: http (6), or https (7) over TLS. */
    private final byte scheme;

    public H2cConnection(int port) throws IOException {
        this(plain(port), false);
    }

    /** Over a socket already connected: a TLS one that negotiated {@code h2} by ALPN, say. */
    public H2cConnection(Socket connected, boolean tls) throws IOException {
        socket = connected;
        scheme = (byte) (tls ? 0x87 : 0x86);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
        out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        write(SETTINGS, 0, 0, new byte[0]);
    }

    private static Socket plain(int port) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        return socket;
    }

    private final Deque<Frame> passedOver = new ArrayDeque<>();

    /** Sends GET {@code path} on {@code stream} (odd, increasing), headers HPACK-encoded without Huffman. */
    public void get(int stream, String path) throws IOException {
        ByteBuffer block = ByteBuffer.allocate(256);
        block.put((byte) 0x82); // :method GET (static table 2)
        block.put(scheme);
        literal(block, 4, path); // :path, name from static table 4
        literal(block, 1, "localhost"); // :authority (1)
        byte[] headers = new byte[block.position()];
        block.flip().get(headers);
        write(HEADERS, 0x4 | 0x1, stream, headers); // END_HEADERS | END_STREAM
    }

    /** The next frame, or null when none arrives within the timeout; settings and pings are acknowledged. */
    public Frame next(int timeoutMillis) throws IOException {
        socket.setSoTimeout(timeoutMillis);
        try {
            int length = in.readUnsignedShort() << 8 | in.readUnsignedByte();
            int type = in.readUnsignedByte();
            int flags = in.readUnsignedByte();
            int stream = in.readInt() & 0x7fffffff;
            byte[] payload = new byte[length];
            in.readFully(payload);
            if (type == SETTINGS && (flags & 0x1) == 0) {
                write(SETTINGS, 0x1, 0, new byte[0]);
            } else if (type == PING && (flags & 0x1) == 0) {
                write(PING, 0x1, 0, payload);
            }
            return new Frame(type, flags, stream, payload);
        } catch (SocketTimeoutException e) {
            return null;
        }
    }

    /**
     * Reads frames until one of {@code type} (on {@code stream}, or any stream when -1) arrives; null if none does.
     * The frames of other streams read meanwhile are kept for {@link #body}.
     */
    public Frame await(int type, int stream, int timeoutMillis) throws IOException {
        long end = System.currentTimeMillis() + timeoutMillis;
        for (long left; (left = end - System.currentTimeMillis()) > 0; ) {
            Frame f = next((int) left);
            if (f != null && f.type == type && (stream < 0 || f.stream == stream)) {
                return f;
            }
            if (f != null && f.stream != 0) {
                passedOver.add(f);
            }
        }
        return null;
    }

    /** Reads until {@code stream} ends; returns its DATA as text, or null when the stream does not end in time. */
    public String body(int stream, int timeoutMillis) throws IOException {
        StringBuilder body = new StringBuilder();
        long end = System.currentTimeMillis() + timeoutMillis;
        for (long left; (left = end - System.currentTimeMillis()) > 0; ) {
            Frame f = passedOver.isEmpty() ? next((int) left) : passedOver.poll();
            if (f != null && f.stream == stream && (f.type == DATA || f.type == HEADERS)) {
                if (f.type == DATA) {
                    body.append(new String(f.payload, StandardCharsets.UTF_8));
                }
                if (f.endsStream()) {
                    return body.toString();
                }
            }
        }
        return null;
    }

    private static void literal(ByteBuffer block, int nameIndex, String value) {
        byte[] v = value.getBytes(StandardCharsets.US_ASCII);
        block.put((byte) nameIndex); // literal without indexing, indexed name (4-bit prefix)
        block.put((byte) v.length); // no Huffman, length < 127
        block.put(v);
    }

    private synchronized void write(int type, int flags, int stream, byte[] payload) throws IOException {
        ByteBuffer frame = ByteBuffer.allocate(9 + payload.length);
        frame.put((byte) (payload.length >>> 16)).put((byte) (payload.length >>> 8)).put((byte) payload.length);
        frame.put((byte) type).put((byte) flags).putInt(stream).put(payload);
        out.write(frame.array());
        out.flush();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
