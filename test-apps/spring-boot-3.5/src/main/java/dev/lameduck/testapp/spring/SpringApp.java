package dev.lameduck.testapp.spring;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.servlet.EndpointServlet;
import jakarta.annotation.PreDestroy;
import java.util.HashMap;
import java.util.Map;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.boot.web.servlet.context.ServletWebServerApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.stereotype.Component;

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

    /** What a DataSource pool is to a real app: closed when Spring's shutdown hook closes the context. */
    @Component
    static class Pool {
        @PreDestroy
        void close() {
            Behaviour.closePool();
        }
    }
}
