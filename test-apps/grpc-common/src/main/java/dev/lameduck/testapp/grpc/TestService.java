package dev.lameduck.testapp.grpc;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.Behaviour.Reply;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The RPCs of DESIGN.md section 3, messages as UTF-8 strings: {@code Work("ms")}, {@code Stream("count,intervalMs")}
 * answering "0", "1", ..., {@code Exit("code")}, {@code Hang("")}. A closed pool fails an RPC with UNAVAILABLE.
 */
public final class TestService {
    public static final String NAME = "lameduck.Test";
    public static final MethodDescriptor.Marshaller<String> UTF8 = new MethodDescriptor.Marshaller<String>() {
        @Override
        public InputStream stream(String value) {
            return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String parse(InputStream in) {
            try {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                byte[] buf = new byte[256];
                for (int n; (n = in.read(buf)) > 0; ) {
                    out.write(buf, 0, n);
                }
                return new String(out.toByteArray(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    public static final MethodDescriptor<String, String> WORK = method("Work", MethodDescriptor.MethodType.UNARY);
    public static final MethodDescriptor<String, String> STREAM = method("Stream", MethodDescriptor.MethodType.SERVER_STREAMING);
    public static final MethodDescriptor<String, String> EXIT = method("Exit", MethodDescriptor.MethodType.UNARY);
    public static final MethodDescriptor<String, String> HANG = method("Hang", MethodDescriptor.MethodType.UNARY);

    private TestService() {}

    private static MethodDescriptor<String, String> method(String name, MethodDescriptor.MethodType type) {
        return MethodDescriptor.<String, String>newBuilder().setType(type)
                .setFullMethodName(MethodDescriptor.generateFullMethodName(NAME, name))
                .setRequestMarshaller(UTF8).setResponseMarshaller(UTF8).build();
    }

    public static ServerServiceDefinition definition() {
        return ServerServiceDefinition.builder(NAME)
                .addMethod(WORK, ServerCalls.asyncUnaryCall((String ms, StreamObserver<String> out) ->
                        answer(Behaviour.work("ms=" + ms), out)))
                .addMethod(STREAM, ServerCalls.asyncServerStreamingCall(TestService::stream))
                .addMethod(EXIT, ServerCalls.asyncUnaryCall((String code, StreamObserver<String> out) ->
                        answer(Behaviour.exit("code=" + code), out)))
                .addMethod(HANG, ServerCalls.asyncUnaryCall((String ignored, StreamObserver<String> out) ->
                        answer(Behaviour.hang(), out)))
                .build();
    }

    private static void stream(String request, StreamObserver<String> out) {
        String[] parts = request.split(",");
        int count = Integer.parseInt(parts[0].trim());
        long interval = Long.parseLong(parts[1].trim());
        for (int i = 0; i < count; i++) {
            Reply r = Behaviour.work("ms=" + interval);
            if (r.status != 200) {
                out.onError(Status.UNAVAILABLE.withDescription(r.body).asRuntimeException());
                return;
            }
            out.onNext(String.valueOf(i));
        }
        out.onCompleted();
    }

    private static void answer(Reply r, StreamObserver<String> out) {
        if (r.status == 200) {
            out.onNext(r.body);
            out.onCompleted();
        } else {
            out.onError(Status.UNAVAILABLE.withDescription(r.body).asRuntimeException());
        }
    }
}
