package dev.lameduck.testapp.servlet;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.Behaviour.Reply;
import java.io.IOException;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/** The endpoints as a jakarta.servlet servlet; /async uses servlet async, completed from another thread. */
public final class EndpointServlet extends HttpServlet {
    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        Reply reply = Behaviour.route(req.getMethod(), req.getRequestURI(), req.getQueryString());
        if (reply != null) {
            write(resp, reply);
            return;
        }
        AsyncContext async = req.startAsync();
        async.setTimeout(0);
        Behaviour.async(req.getQueryString(), r -> {
            try {
                write(async.getResponse(), r);
            } catch (IOException e) {
                e.printStackTrace();
            }
            async.complete();
        });
    }

    private static void write(ServletResponse resp, Reply reply) throws IOException {
        ((HttpServletResponse) resp).setStatus(reply.status);
        resp.setContentType("text/plain");
        resp.getWriter().print(reply.body);
    }
}
