package dev.lameduck.testapp.spring;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.servlet.EndpointServlet;
import jakarta.annotation.PreDestroy;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.boot.web.servlet.context.ServletWebServerApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.stereotype.Component;
import org.springframework.web.socket.TextMessage;
import org.springframework.web.socket.WebSocketSession;
import org.springframework.web.socket.handler.TextWebSocketHandler;
import org.springframework.web.socket.server.support.WebSocketHttpRequestHandler;

/** The endpoints in a Spring Boot app: the shared servlet on /*, the pool a bean closed by @PreDestroy. */
@SpringBootApplication
public class SpringApp {
    public static void main(String[] args) {
        SpringApplication app = new SpringApplication(SpringApp.class);
        Map<String, Object> props = new HashMap<>();
        props.put("server.port", Behaviour.port(args));
        props.put("server.shutdown", "graceful"); // Spring's own graceful mode, as in the issue
        props.put("server.http2.enabled", "true"); // h2c with prior knowledge on Tomcat
        props.put("spring.main.banner-mode", "off");
        app.setDefaultProperties(props);
        ServletWebServerApplicationContext context = (ServletWebServerApplicationContext) app.run();
        Behaviour.listening(context.getWebServer().getPort());
    }

    @Bean
    ServletRegistrationBean<EndpointServlet> endpoints() {
        ServletRegistrationBean<EndpointServlet> bean = new ServletRegistrationBean<>(new EndpointServlet(), "/*");
        bean.setAsyncSupported(true);
        return bean;
    }

    /** Spring's WebSocket support (a {@code WebSocketHandler}, on Tomcat's JSR 356 container): an echo at /ws. */
    @Bean
    WebSocketHttpRequestHandler echo() {
        return new WebSocketHttpRequestHandler(new TextWebSocketHandler() {
            @Override
            protected void handleTextMessage(WebSocketSession session, TextMessage message) throws IOException {
                session.sendMessage(message);
            }
        });
    }

    /** The servlet /ws reaches (an exact mapping wins over the endpoints' /*), handing the handshake to Spring. */
    @Bean
    ServletRegistrationBean<HttpServlet> webSocket(WebSocketHttpRequestHandler echo) {
        HttpServlet servlet = new HttpServlet() {
            @Override
            protected void service(HttpServletRequest request, HttpServletResponse response) throws ServletException, IOException {
                echo.handleRequest(request, response);
            }
        };
        return new ServletRegistrationBean<>(servlet, "/ws");
    }

    /** What a DataSource pool is to a real app: closed when Spring's shutdown hook closes the context. */
    @Component
    static class Pool {
        @PreDestroy
        void close() {
            Behaviour.closePool();
        }
    }
}
