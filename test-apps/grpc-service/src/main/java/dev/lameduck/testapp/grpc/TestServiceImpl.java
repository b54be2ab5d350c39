package dev.lameduck.testapp.grpc;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.Behaviour.Reply;
import dev.lameduck.testapp.grpc.proto.ExitRequest;
import dev.lameduck.testapp.grpc.proto.HangRequest;
import dev.lameduck.testapp.grpc.proto.StreamRequest;
import dev.lameduck.testapp.grpc.proto.TestGrpc;
import dev.lameduck.testapp.grpc.proto.WorkRequest;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

/** The test service over the shared behaviour; a closed pool fails an RPC with UNAVAILABLE. */
final class TestServiceImpl extends TestGrpc.TestImplBase {
    @Override
    public void work(WorkRequest request, StreamObserver<dev.lameduck.testapp.grpc.proto.Reply> out) {
        answer(Behaviour.work("ms=" + request.getMs()), out);
    }

    @Override
    public void stream(StreamRequest request, StreamObserver<dev.lameduck.testapp.grpc.proto.Reply> out) {
        for (int i = 0; i < request.getCount(); i++) {
            Reply r = Behaviour.work("ms=" + request.getIntervalMs());
            if (r.status != 200) {
                out.onError(Status.UNAVAILABLE.withDescription(r.body).asRuntimeException());
                return;
            }
            out.onNext(reply(String.valueOf(i)));
        }
        out.onCompleted();
    }

    @Override
    public void exit(ExitRequest request, StreamObserver<dev.lameduck.testapp.grpc.proto.Reply> out) {
        answer(Behaviour.exit("code=" + request.getCode()), out);
    }

    @Override
    public void hang(HangRequest request, StreamObserver<dev.lameduck.testapp.grpc.proto.Reply> out) {
        answer(Behaviour.hang(), out);
    }

    private static void answer(Reply r, StreamObserver<dev.lameduck.testapp.grpc.proto.Reply> out) {
        if (r.status == 200) {
            out.onNext(reply(r.body));
            out.onCompleted();
        } else {
            out.onError(Status.UNAVAILABLE.withDescription(r.body).asRuntimeException());
        }
    }

    private static dev.lameduck.testapp.grpc.proto.Reply reply(String body) {
        return dev.lameduck.testapp.grpc.proto.Reply.newBuilder().setBody(body).build();
    }
}
