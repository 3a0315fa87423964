package coord

import (
	"context"
	"errors"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Transient reports whether err is etcd being briefly unable to answer:
// no leader, a leader change, a request timed out or shed, a connection
// lost. Such an error says nothing about the request itself, so whoever
// got it should ask again rather than report the request as failed.
// Errors that merely mention etcd (a missing key, a failed comparison, a
// caller's own validation) are not transient.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		return retryableCode(ee.Code())
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		return retryableCode(st.Code())
	}
	return errors.Is(err, context.DeadlineExceeded)
}

func retryableCode(c codes.Code) bool {
	return c == codes.Unavailable || c == codes.DeadlineExceeded || c == codes.ResourceExhausted
}
