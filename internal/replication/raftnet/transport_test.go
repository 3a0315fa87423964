package raftnet

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dbconfig "github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
)

// sink collects what a transport receives.
type sink struct {
	mu      sync.Mutex
	batches []pb.MessageBatch
	chunks  []pb.Chunk
	refuse  bool
	got     chan struct{}
}

func newSink() *sink { return &sink{got: make(chan struct{}, 1024)} }

func (s *sink) onBatch(b pb.MessageBatch) {
	s.mu.Lock()
	s.batches = append(s.batches, b)
	s.mu.Unlock()
	s.got <- struct{}{}
}

func (s *sink) onChunk(c pb.Chunk) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse {
		return false
	}
	s.chunks = append(s.chunks, c)
	return true
}

func (s *sink) wait(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		s.mu.Lock()
		have := len(s.batches)
		s.mu.Unlock()
		if have >= n {
			return
		}
		select {
		case <-s.got:
		case <-deadline:
			t.Fatalf("received %d batches, want %d", have, n)
		}
	}
}

func startAt(t *testing.T, addr string, s *sink) *Transport {
	t.Helper()
	tr := New(addr, s.onBatch, s.onChunk)
	if err := tr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// streamTo returns a sending transport and its message stream to addr,
// closed when the test ends.
func streamTo(t *testing.T, addr string) (*Transport, raftio.IConnection) {
	t.Helper()
	tx := New("127.0.0.1:0", nil, nil)
	conn, err := tx.GetConnection(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	return tx, conn
}

func batchOf(shard uint64, cmds ...string) pb.MessageBatch {
	m := pb.Message{Type: pb.Replicate, ShardID: shard, From: 1, To: 2, Term: 3, LogIndex: 7}
	for i, c := range cmds {
		m.Entries = append(m.Entries, pb.Entry{Index: uint64(8 + i), Term: 3, Cmd: []byte(c)})
	}
	return pb.MessageBatch{SourceAddress: "127.0.0.1:1", BinVer: 210, DeploymentId: 1, Requests: []pb.Message{m}}
}

func cmdsOf(b pb.MessageBatch) []string {
	var out []string
	for _, m := range b.Requests {
		for _, e := range m.Entries {
			out = append(out, string(e.Cmd))
		}
	}
	return out
}

func TestFrameRoundTripAndRejects(t *testing.T) {
	b := batchOf(5, "a", strings.Repeat("x", 10000))
	frame, err := appendFrame(nil, methodBatch, b.SizeUpperLimit(), b.MarshalTo)
	if err != nil {
		t.Fatal(err)
	}
	method, payload, _, err := readFrame(bufio.NewReader(bytes.NewReader(frame)), nil)
	if err != nil || method != methodBatch {
		t.Fatalf("method %d, err %v", method, err)
	}
	var got pb.MessageBatch
	if err := got.Unmarshal(payload); err != nil {
		t.Fatal(err)
	}
	if c := cmdsOf(got); len(c) != 2 || c[0] != "a" || len(c[1]) != 10000 || got.Requests[0].ShardID != 5 {
		t.Fatalf("decoded %+v", got.Requests)
	}

	corrupt := func(at int, v byte) []byte {
		f := append([]byte(nil), frame...)
		f[at] ^= v
		return f
	}
	cases := map[string]struct {
		frame []byte
		want  string
	}{
		"bad magic":         {corrupt(0, 0x01), "bad magic"},
		"header bit flip":   {corrupt(5, 0x10), "header checksum"},
		"payload bit flip":  {corrupt(len(frame)-1, 0x01), "payload checksum"},
		"truncated payload": {frame[:len(frame)-3], "reading"},
		"truncated header":  {frame[:10], "reading header"},
	}
	for name, tc := range cases {
		_, _, _, err := readFrame(bufio.NewReader(bytes.NewReader(tc.frame)), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to mention %q", name, err, tc.want)
		}
	}
	// A header that is well-formed but announces an absurd size, or an
	// unknown method, is refused before anything is allocated.
	for name, tc := range map[string]struct {
		method uint16
		size   int
		want   string
	}{"huge": {methodBatch, maxPayload + 1, "out of range"}, "empty": {methodBatch, 0, "out of range"}, "method": {7, 4, "unknown method"}} {
		f, _ := appendFrame(nil, tc.method, tc.size, func(b []byte) (int, error) { return tc.size, nil })
		if tc.size > 1000 { // do not send the body; the header alone must be refused
			f = f[:2+headerSize]
		}
		_, _, _, err := readFrame(bufio.NewReader(bytes.NewReader(f)), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", name, err, tc.want)
		}
	}
	if _, _, _, err := readFrame(bufio.NewReader(bytes.NewReader(poison[:])), nil); err != errPoison {
		t.Errorf("poison: err %v", err)
	}
}

func TestSendAndReceive(t *testing.T) {
	s := newSink()
	rx := startAt(t, "127.0.0.1:0", s)
	tx, conn := streamTo(t, rx.Addr())
	for i := 0; i < 100; i++ {
		if err := conn.SendMessageBatch(batchOf(uint64(i), "v")); err != nil {
			t.Fatal(err)
		}
	}
	// A batch larger than one write piece arrives whole and in order.
	big := strings.Repeat("b", 5*writePiece+17)
	if err := conn.SendMessageBatch(batchOf(100, big)); err != nil {
		t.Fatal(err)
	}
	s.wait(t, 101)
	if c := cmdsOf(s.batches[100]); len(c) != 1 || c[0] != big {
		t.Fatal("the large batch arrived damaged")
	}
	for i, b := range s.batches {
		if b.Requests[0].ShardID != uint64(i) {
			t.Fatalf("batch %d carries shard %d: out of order", i, b.Requests[0].ShardID)
		}
	}
	if tx.Redials() != 0 {
		t.Errorf("redials %d on a healthy stream", tx.Redials())
	}
}

// TestPeerRestartLosesNothing is the reason this package exists: after the
// receiver restarts, the next batch on an existing stream must arrive and
// the send must not fail (a failure trips dragonboat's circuit breaker).
// With a plain TCP stream the first write after the restart vanishes into
// the dead connection and the second fails.
func TestPeerRestartLosesNothing(t *testing.T) {
	s1 := newSink()
	rx := startAt(t, "127.0.0.1:0", s1)
	addr := rx.Addr()
	tx, conn := streamTo(t, addr)
	if err := conn.SendMessageBatch(batchOf(1, "before")); err != nil {
		t.Fatal(err)
	}
	s1.wait(t, 1)

	_ = rx.Close()
	s2 := newSink()
	startAt(t, addr, s2)
	// Let the watcher see the close, as it does long before a real
	// restarted tablet is back.
	time.Sleep(100 * time.Millisecond)
	for i := 0; i < 3; i++ {
		if err := conn.SendMessageBatch(batchOf(2, "after")); err != nil {
			t.Fatalf("send %d after the peer restarted: %v", i, err)
		}
	}
	s2.wait(t, 3)
	if tx.Redials() != 1 {
		t.Errorf("redials %d, want 1", tx.Redials())
	}
}

func TestPeerDownIsAnError(t *testing.T) {
	s := newSink()
	rx := startAt(t, "127.0.0.1:0", s)
	tx, conn := streamTo(t, rx.Addr())
	_ = rx.Close()
	time.Sleep(50 * time.Millisecond)
	err := conn.SendMessageBatch(batchOf(1, "x"))
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("send to a stopped peer: %v, want an unreachable error", err)
	}
	if _, err := tx.GetConnection(context.Background(), rx.Addr()); err == nil {
		t.Fatal("GetConnection to a stopped peer succeeded")
	}
}

func TestGarbageClosesOnlyThatStream(t *testing.T) {
	s := newSink()
	rx := startAt(t, "127.0.0.1:0", s)
	c, err := net.Dial("tcp", rx.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	if _, err := c.Read(b[:]); err == nil {
		t.Fatal("the receiver answered garbage instead of closing")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the receiver kept a stream that sent garbage open")
	}
	_, conn := streamTo(t, rx.Addr())
	if err := conn.SendMessageBatch(batchOf(9, "ok")); err != nil {
		t.Fatal(err)
	}
	s.wait(t, 1)
	if len(s.batches) != 1 || s.batches[0].Requests[0].ShardID != 9 {
		t.Fatalf("got %+v", s.batches)
	}
}

func TestSnapshotChunksAndClose(t *testing.T) {
	s := newSink()
	rx := startAt(t, "127.0.0.1:0", s)
	tx := New("127.0.0.1:0", nil, nil)
	sc, err := tx.GetSnapshotConnection(context.Background(), rx.Addr())
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("snap"), 512<<10) // 2 MiB, one full chunk
	for i := uint64(0); i < 3; i++ {
		if err := sc.SendChunk(pb.Chunk{ShardID: 4, ChunkId: i, ChunkCount: 3, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	// Close returns only after the receiver echoed the poison, that is
	// after it read every chunk.
	sc.Close()
	s.mu.Lock()
	n := len(s.chunks)
	ok := n == 3 && bytes.Equal(s.chunks[2].Data, data) && s.chunks[2].ChunkId == 2
	s.mu.Unlock()
	if !ok {
		t.Fatalf("%d chunks received by Close, want 3 intact", n)
	}

	// A refused chunk ends the stream: the sender's later chunks fail.
	s.mu.Lock()
	s.refuse = true
	s.mu.Unlock()
	sc, err = tx.GetSnapshotConnection(context.Background(), rx.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	var sendErr error
	for i := 0; i < 50 && sendErr == nil; i++ {
		sendErr = sc.SendChunk(pb.Chunk{ShardID: 4, ChunkId: uint64(i), Data: data})
		time.Sleep(10 * time.Millisecond)
	}
	if sendErr == nil {
		t.Fatal("chunks kept being accepted after the receiver refused one")
	}
}

func TestCloseStopsServing(t *testing.T) {
	s := newSink()
	rx := startAt(t, "127.0.0.1:0", s)
	addr := rx.Addr()
	streamTo(t, addr) // an open incoming stream Close must not wait for
	done := make(chan struct{})
	go func() { _ = rx.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung with an open incoming stream")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("still listening after Close")
	}
	if err := rx.Start(); err == nil {
		t.Fatal("Start after Close succeeded")
	}
}

// A paced snapshot stream cannot finish sooner than its bytes allow. (Only
// the lower bound is checked: a slow machine makes it longer, never shorter.)
func TestSnapshotPacing(t *testing.T) {
	s := newSink()
	rx := startAt(t, "127.0.0.1:0", s)
	tx := New("127.0.0.1:0", nil, nil)
	tx.snapshotRate = 8 << 20
	sc, err := tx.GetSnapshotConnection(context.Background(), rx.Addr())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	data := make([]byte, 1<<20)
	for i := uint64(0); i < 4; i++ {
		if err := sc.SendChunk(pb.Chunk{ShardID: 1, ChunkId: i, ChunkCount: 4, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	sc.Close()
	if took, least := time.Since(start), 490*time.Millisecond; took < least {
		t.Fatalf("4 MiB at 8 MiB/s took %s, want at least %s", took, least)
	}
	s.mu.Lock()
	n := len(s.chunks)
	s.mu.Unlock()
	if n != 4 {
		t.Fatalf("%d chunks arrived, want 4", n)
	}
}

// Factory.ChunkWritten hears the size of every chunk dragonboat accepted,
// and of none it refused.
func TestChunkWrittenCountsAcceptedChunks(t *testing.T) {
	s := newSink()
	var written atomic.Int64
	rx := Factory{ChunkWritten: func(n int) { written.Add(int64(n)) }}.Create(dbconfig.NodeHostConfig{RaftAddress: "127.0.0.1:0"}, s.onBatch, s.onChunk).(*Transport)
	if err := rx.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rx.Close() })
	tx := New("127.0.0.1:0", nil, nil)
	data := bytes.Repeat([]byte("x"), 300<<10)
	send := func(chunks int) {
		sc, err := tx.GetSnapshotConnection(context.Background(), rx.Addr())
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < chunks; i++ {
			if err := sc.SendChunk(pb.Chunk{ShardID: 4, ChunkId: uint64(i), ChunkCount: uint64(chunks), Data: data}); err != nil {
				break
			}
		}
		sc.Close()
	}
	send(3)
	if got := written.Load(); got != 3*int64(len(data)) {
		t.Fatalf("ChunkWritten heard %d bytes for 3 accepted chunks of %d", got, len(data))
	}
	s.mu.Lock()
	s.refuse = true
	s.mu.Unlock()
	send(2)
	if got := written.Load(); got != 3*int64(len(data)) {
		t.Fatalf("ChunkWritten heard %d bytes after refused chunks, want still %d", got, 3*len(data))
	}
}

// Validate accepts host:port addresses, also when asked again (remembered),
// and rejects malformed ones every time.
func TestValidateRemembersOnlyValidAddresses(t *testing.T) {
	var f Factory
	for i := 0; i < 2; i++ {
		if !f.Validate("127.0.0.1:10922") {
			t.Fatalf("attempt %d: a valid address rejected", i)
		}
		for _, bad := range []string{"", "127.0.0.1", "host:port:extra", "no port:"} {
			if f.Validate(bad) {
				t.Fatalf("attempt %d: %q accepted", i, bad)
			}
		}
	}
	if _, ok := validAddrs.Load("127.0.0.1:10922"); !ok {
		t.Fatal("a valid address was not remembered: every batch would run the regular expression again")
	}
	for _, bad := range []string{"", "127.0.0.1", "host:port:extra", "no port:"} {
		if _, ok := validAddrs.Load(bad); ok {
			t.Fatalf("the invalid address %q was remembered", bad)
		}
	}
	// The cache is bounded: past maxRememberedAddrs addresses are still
	// answered, checked each time, and not stored.
	for i := 0; i < maxRememberedAddrs+100; i++ {
		if addr := fmt.Sprintf("10.%d.%d.1:7000", i/256, i%256); !f.Validate(addr) {
			t.Fatalf("%s rejected", addr)
		}
	}
	n := 0
	validAddrs.Range(func(any, any) bool { n++; return true })
	if n > maxRememberedAddrs {
		t.Fatalf("%d addresses remembered, want at most %d", n, maxRememberedAddrs)
	}
	if f.Validate("10.0.0.1") {
		t.Fatal("an address without a port accepted once the cache is full")
	}
}
