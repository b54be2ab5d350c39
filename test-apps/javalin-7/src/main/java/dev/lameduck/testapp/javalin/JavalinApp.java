package dev.lameduck.testapp.javalin;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.Behaviour.Reply;
import io.javalin.Javalin;
import io.javalin.http.Context;
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
            config.routes.get("/async", ctx -> ctx.future(() -> {
                CompletableFuture<Reply> reply = new CompletableFuture<>();
                Behaviour.async(ctx.queryString(), reply::complete);
                return reply.thenAccept(r -> write(ctx, r));
            }));
        }).start(Behaviour.port(args));
        Behaviour.listening(app.port());
    }

    private static void sync(Context ctx) {
        write(ctx, Behaviour.route(ctx.method().name(), ctx.path(), ctx.queryString()));
    }

    private static void write(Context ctx, Reply reply) {
        ctx.status(reply.status).contentType("text/plain").result(reply.body);
    }
}
