package dev.lameduck.testapp.grpc;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.grpc.proto.TestGrpc;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;

/** A gRPC server with the test service and the standard health service; the transport is whichever is on the class path. */
public final class GrpcApp {
    public static void main(String[] args) throws Exception {
        Behaviour.installPool();
        Server server = start(Behaviour.port(args));
        Behaviour.listening(server.getPort());
        server.awaitTermination();
    }

    /** Starts the server, SERVING in its health service. */
    public static Server start(int port) throws Exception {
        HealthStatusManager health = new HealthStatusManager();
        Server server = ServerBuilder.forPort(port)
                .addService(new TestServiceImpl())
                .addService(health.getHealthService())
                .build()
                .start();
        health.setStatus(TestGrpc.SERVICE_NAME, ServingStatus.SERVING);
        return server;
    }
}
