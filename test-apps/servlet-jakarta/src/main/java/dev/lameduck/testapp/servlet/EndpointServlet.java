package dev.lameduck.testapp.servlet;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.Behaviour.Reply;
import java.io.IOException;
import java.io.OutputStream;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.ServletRequest;
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
            write(req, resp, reply);
            return;
        }
        AsyncContext async = req.startAsync();
        async.setTimeout(0);
        Behaviour.async(req.getQueryString(), r -> {
            try {
                write(async.getRequest(), async.getResponse(), r);
            } catch (IOException e) {
                e.printStackTrace();
            }
            async.complete();
        });
    }

    private static void write(ServletRequest req, ServletResponse resp, Reply reply) throws IOException {
        ((HttpServletResponse) resp).setStatus(reply.status);
        resp.setContentType(reply.contentType);
        if (reply.contentLength != Reply.UNKNOWN_LENGTH) {
            resp.setContentLengthLong(reply.contentLength);
        }
        if (!reply.streams()) {
            resp.getWriter().print(reply.body);
            return;
        }
        // Closing sends what is still buffered, with a Content-Length when nothing was flushed (/upload's answer).
        try (OutputStream out = resp.getOutputStream()) {
            reply.streamed.writeTo(req.getInputStream(), out);
        }
    }
}
