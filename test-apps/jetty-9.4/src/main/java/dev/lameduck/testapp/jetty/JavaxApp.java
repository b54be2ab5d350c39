package dev.lameduck.testapp.jetty;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.Behaviour.Reply;
import java.io.IOException;
import javax.servlet.AsyncContext;
import javax.servlet.ServletResponse;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;

/** Jetty 9.4 and 10 (javax.servlet): the same source builds both apps. */
public final class JavaxApp {
    public static void main(String[] args) throws Exception {
        Behaviour.installPool();
        Server server = new Server();
        // HTTP/1.1 and cleartext HTTP/2 (prior knowledge or upgrade) on the same port.
        HttpConfiguration http = new HttpConfiguration();
        ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(http), new HTTP2CServerConnectionFactory(http));
        connector.setPort(Behaviour.port(args));
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler();
        ServletHolder holder = new ServletHolder(new EndpointServlet());
        holder.setAsyncSupported(true);
        context.addServlet(holder, "/*");
        server.setHandler(context);
        server.setStopAtShutdown(true);
        server.start();
        Behaviour.listening(connector.getLocalPort());
        server.join();
    }

    static final class EndpointServlet extends HttpServlet {
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
}
