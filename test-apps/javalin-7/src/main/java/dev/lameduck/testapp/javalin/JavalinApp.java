package dev.lameduck.testapp.javalin;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.Behaviour.Reply;
import io.javalin.Javalin;
import io.javalin.http.Context;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;

/** The endpoints in a Javalin 7 app; /async completes a future from another thread. */
public final class JavalinApp {
    public static void main(String[] args) {
        Behaviour.installPool();
        Javalin app = Javalin.create(config -> {
            config.routes.get("/health", JavalinApp::sync);
            config.routes.get("/work", JavalinApp::sync);
            config.routes.get("/hang", JavalinApp::sync);
            config.routes.post("/exit", JavalinApp::sync);
            config.routes.get("/stream", JavalinApp::sync);
            config.routes.get("/download", JavalinApp::sync);
            config.routes.post("/upload", JavalinApp::sync);
            config.routes.get("/sse", JavalinApp::sync);
            config.routes.get("/async", ctx -> ctx.future(() -> {
                CompletableFuture<Reply> reply = new CompletableFuture<>();
                Behaviour.async(ctx.queryString(), reply::complete);
                return reply.thenAccept(r -> write(ctx, r));
            }));
        }).start(Behaviour.port(args));
        Behaviour.listening(app.port());
    }

    private static void sync(Context ctx) throws IOException {
        Reply reply = Behaviour.route(ctx.method().name(), ctx.path(), ctx.queryString());
        if (reply.streams()) {
            stream(ctx, reply);
        } else {
            write(ctx, reply);
        }
    }

    private static void write(Context ctx, Reply reply) {
        ctx.status(reply.status).contentType(reply.contentType).result(reply.body);
    }

    /** Past Javalin's result, straight on the servlet's blocking streams; Javalin has nothing left to write. */
    private static void stream(Context ctx, Reply reply) throws IOException {
        HttpServletResponse res = ctx.res();
        res.setStatus(reply.status);
        res.setContentType(reply.contentType);
        if (reply.contentLength != Reply.UNKNOWN_LENGTH) {
            res.setContentLengthLong(reply.contentLength);
        }
        // Closing sends what is still buffered, with a Content-Length when nothing was flushed (/upload's answer).
        try (OutputStream out = res.getOutputStream()) {
            reply.streamed.writeTo(ctx.req().getInputStream(), out);
        }
    }
}
