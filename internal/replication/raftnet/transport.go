package raftnet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	dbconfig "github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
)

// Name is what dragonboat logs as the transport type.
const Name = "openmldb-tcp"

const (
	// dialTimeout bounds one dial. A send that must redial blocks its
	// stream for at most this long; dragonboat queues, then drops, messages
	// meanwhile, which Raft tolerates.
	dialTimeout = 2 * time.Second
	// writeTimeout bounds the write of one piece of a frame: a peer that
	// stopped reading (hung, or its host gone without a FIN) fails the send
	// instead of blocking the stream for ever.
	writeTimeout = 5 * time.Second
	writePiece   = 1 << 20
	// poisonAckTimeout bounds how long a snapshot sender waits for the
	// receiver to confirm it read every chunk.
	poisonAckTimeout = 10 * time.Second
	keepAlive        = 10 * time.Second
	readBufferSize   = 256 << 10
	// maxKeptBuffer: frame buffers are reused between frames up to this
	// size (a snapshot chunk is 2 MiB); bigger ones are dropped after use.
	maxKeptBuffer = 4 << 20
)

// Factory plugs the transport into a dragonboat NodeHostConfig
// (Expert.TransportFactory).
type Factory struct {
	// Redials, when set, counts the sends that found their stream closed
	// by the peer, or failing, and dialled it again.
	Redials *atomic.Int64
	// SnapshotBytesPerSecond, when positive, paces each outgoing snapshot
	// stream to this rate, so that copying a partition does not take the
	// CPU and disk from every other partition's writes at once.
	SnapshotBytesPerSecond int64
	// ChunkWritten, when set, is told the size of every received
	// snapshot chunk dragonboat accepted (it has written it to a file),
	// so that the host can sync the disk as a snapshot arrives rather
	// than all of it at the end.
	ChunkWritten func(bytes int)
}

// Create implements dbconfig.TransportFactory.
func (f Factory) Create(nhc dbconfig.NodeHostConfig, onBatch raftio.MessageHandler, onChunk raftio.ChunkHandler) raftio.ITransport {
	t := New(nhc.GetListenAddress(), onBatch, onChunk)
	if f.Redials != nil {
		t.redials = f.Redials
	}
	t.snapshotRate = f.SnapshotBytesPerSecond
	t.chunkWritten = f.ChunkWritten
	return t
}

// Validate implements dbconfig.TransportFactory: addresses are host:port,
// as with dragonboat's own transport. dragonboat asks for the sender of
// every message batch it receives, and its check is a regular expression
// (2% of a busy tablet's CPU in a profile), so valid addresses, a handful
// of peers, are remembered.
func (Factory) Validate(addr string) bool {
	if _, ok := validAddrs.Load(addr); ok {
		return true
	}
	if !dbconfig.IsValidAddress(addr) {
		return false
	}
	if validAddrCount.Add(1) <= maxRememberedAddrs {
		validAddrs.Store(addr, struct{}{})
	}
	return true
}

var (
	validAddrs     sync.Map
	validAddrCount atomic.Int64
)

// maxRememberedAddrs bounds the cache; past it addresses are checked each time.
const maxRememberedAddrs = 4096

// Transport is one node host's listener and its outgoing streams.
type Transport struct {
	listenAddr string
	onBatch    raftio.MessageHandler
	onChunk    raftio.ChunkHandler
	// chunkWritten: see Factory.ChunkWritten.
	chunkWritten func(int)

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup

	// redials counts sends that found their stream dead and dialled again.
	redials *atomic.Int64
	// snapshotRate paces outgoing snapshot streams (bytes/s; 0: unpaced).
	snapshotRate int64
}

var _ raftio.ITransport = (*Transport)(nil)

// New returns a transport that will listen on listenAddr once started.
func New(listenAddr string, onBatch raftio.MessageHandler, onChunk raftio.ChunkHandler) *Transport {
	return &Transport{listenAddr: listenAddr, onBatch: onBatch, onChunk: onChunk, conns: map[net.Conn]struct{}{}, redials: new(atomic.Int64)}
}

// Name implements raftio.ITransport.
func (t *Transport) Name() string { return Name }

// Redials reports how many sends found their stream closed by the peer,
// or failing, and dialled it again.
func (t *Transport) Redials() int64 { return t.redials.Load() }

// Start implements raftio.ITransport: it listens and serves incoming streams.
func (t *Transport) Start() error {
	ln, err := net.Listen("tcp", t.listenAddr)
	if err != nil {
		return fmt.Errorf("raft transport: listening on %s: %w", t.listenAddr, err)
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		_ = ln.Close()
		return errors.New("raft transport: started after close")
	}
	t.ln = ln
	t.wg.Add(1)
	t.mu.Unlock()
	go t.accept(ln)
	return nil
}

// Addr is the address the transport listens on (after Start).
func (t *Transport) Addr() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ln == nil {
		return ""
	}
	return t.ln.Addr().String()
}

func (t *Transport) accept(ln net.Listener) {
	defer t.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // closed
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetKeepAlive(true)
			_ = tc.SetKeepAlivePeriod(keepAlive)
		}
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			_ = c.Close()
			return
		}
		t.conns[c] = struct{}{}
		t.wg.Add(1)
		t.mu.Unlock()
		go t.serve(c)
	}
}

// serve reads frames from one incoming stream until it ends or carries
// something that is not a valid frame; the stream is then closed, and the
// sender redials.
func (t *Transport) serve(c net.Conn) {
	defer t.wg.Done()
	defer func() {
		t.mu.Lock()
		delete(t.conns, c)
		t.mu.Unlock()
		_ = c.Close()
	}()
	r := bufio.NewReaderSize(c, readBufferSize)
	var buf []byte
	for {
		method, payload, nbuf, err := readFrame(r, buf)
		buf = nbuf
		if errors.Is(err, errPoison) {
			_ = c.SetWriteDeadline(time.Now().Add(writeTimeout))
			_, _ = c.Write(poison[:])
			return
		}
		if err != nil {
			if !isClosed(err) {
				slog.Warn("raft transport: dropping incoming stream", "from", c.RemoteAddr().String(), "err", err)
			}
			return
		}
		switch method {
		case methodBatch:
			var b pb.MessageBatch
			if err := b.Unmarshal(payload); err != nil {
				slog.Warn("raft transport: dropping incoming stream: undecodable message batch", "from", c.RemoteAddr().String(), "err", err)
				return
			}
			t.onBatch(b)
		case methodChunk:
			var ch pb.Chunk
			if err := ch.Unmarshal(payload); err != nil {
				slog.Warn("raft transport: dropping incoming stream: undecodable snapshot chunk", "from", c.RemoteAddr().String(), "err", err)
				return
			}
			if !t.onChunk(ch) {
				// dragonboat refused the chunk (out of order, or the
				// snapshot was aborted); closing makes the sender's next
				// chunk fail, which aborts its side too.
				return
			}
			if t.chunkWritten != nil {
				t.chunkWritten(len(ch.Data))
			}
		}
		if cap(buf) > maxKeptBuffer {
			buf = nil
		}
	}
}

// isClosed tells a stream that ended (the peer stopped or closed it, or we
// are shutting down) from one that carried garbage.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET)
}

// Close implements raftio.ITransport: it stops listening, closes every
// incoming stream and waits for their readers.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	if t.ln != nil {
		_ = t.ln.Close()
	}
	for c := range t.conns {
		_ = c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
	return nil
}

func dial(ctx context.Context, target string) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout, KeepAlive: keepAlive}
	c, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// GetConnection implements raftio.ITransport.
func (t *Transport) GetConnection(ctx context.Context, target string) (raftio.IConnection, error) {
	s := &stream{t: t, ctx: ctx, target: target}
	if err := s.redial(); err != nil {
		return nil, err
	}
	return s, nil
}

// GetSnapshotConnection implements raftio.ITransport.
func (t *Transport) GetSnapshotConnection(ctx context.Context, target string) (raftio.ISnapshotConnection, error) {
	c, err := dial(ctx, target)
	if err != nil {
		return nil, err
	}
	return &snapshotStream{c: c, rate: t.snapshotRate, start: time.Now()}, nil
}

// writeFrame writes a frame in pieces of at most writePiece bytes, each
// with its own deadline: a large catch-up batch on a slow link is not
// failed by a deadline meant to catch a peer that stopped reading, and a
// small frame still goes out in one write.
func writeFrame(c net.Conn, frame []byte) error {
	for len(frame) > 0 {
		n := min(len(frame), writePiece)
		_ = c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := c.Write(frame[:n]); err != nil {
			return err
		}
		frame = frame[n:]
	}
	return nil
}

// frameBuf is a sender's frame buffer, reused from frame to frame.
type frameBuf struct{ b []byte }

// encode builds one frame in the buffer; the frame is valid until the next
// call. A rare huge frame's buffer is not kept, so that it does not stay
// pinned per stream.
func (f *frameBuf) encode(method uint16, sizeHint int, marshal func([]byte) (int, error)) ([]byte, error) {
	frame, err := appendFrame(f.b[:0], method, sizeHint, marshal)
	f.b = frame[:0]
	if cap(f.b) > maxKeptBuffer {
		f.b = nil
	}
	return frame, err
}

// link is one TCP connection of a stream, with its watcher.
type link struct {
	c    net.Conn
	dead chan struct{} // closed once the peer closed the connection
}

func newLink(c net.Conn) *link {
	l := &link{c: c, dead: make(chan struct{})}
	go func() {
		// Nothing is ever sent back on a message stream: a return here is
		// the peer closing (EOF or reset), or our own Close.
		var b [1]byte
		_, _ = c.Read(b[:])
		close(l.dead)
	}()
	return l
}

func (l *link) isDead() bool {
	select {
	case <-l.dead:
		return true
	default:
		return false
	}
}

// stream is an outgoing message stream to one peer. dragonboat uses each
// from a single goroutine.
type stream struct {
	t      *Transport
	ctx    context.Context
	target string
	cur    *link
	buf    frameBuf
}

var _ raftio.IConnection = (*stream)(nil)

func (s *stream) redial() error {
	if s.cur != nil {
		_ = s.cur.c.Close()
		s.cur = nil
	}
	c, err := dial(s.ctx, s.target)
	if err != nil {
		return err
	}
	s.cur = newLink(c)
	return nil
}

// SendMessageBatch implements raftio.IConnection. A stream the peer has
// closed is dialled again first; a write that fails is retried once on a
// new connection. Only when the peer cannot be reached is an error
// returned, which is dragonboat's cue to mark it unreachable.
func (s *stream) SendMessageBatch(batch pb.MessageBatch) error {
	frame, err := s.buf.encode(methodBatch, batch.SizeUpperLimit(), batch.MarshalTo)
	if err != nil {
		return fmt.Errorf("raft transport: encoding a message batch: %w", err)
	}
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		if s.cur == nil || s.cur.isDead() {
			if s.cur != nil || attempt > 0 {
				s.t.redials.Add(1)
			}
			if err := s.redial(); err != nil {
				return fmt.Errorf("raft transport: %s unreachable: %w", s.target, err)
			}
		}
		if err := writeFrame(s.cur.c, frame); err != nil {
			lastErr = err
			_ = s.cur.c.Close()
			s.cur = nil
			continue
		}
		return nil
	}
	return fmt.Errorf("raft transport: sending to %s: %w", s.target, lastErr)
}

// Close implements raftio.IConnection.
func (s *stream) Close() {
	if s.cur != nil {
		_ = s.cur.c.Close()
		s.cur = nil
	}
}

// snapshotStream carries one snapshot's chunks. It is not redialled: a
// chunk stream that breaks fails the snapshot, and dragonboat sends it
// again from the start.
type snapshotStream struct {
	c     net.Conn
	buf   frameBuf
	rate  int64 // bytes per second; 0: unpaced
	start time.Time
	sent  int64
}

var _ raftio.ISnapshotConnection = (*snapshotStream)(nil)

// SendChunk implements raftio.ISnapshotConnection.
func (s *snapshotStream) SendChunk(ch pb.Chunk) error {
	frame, err := s.buf.encode(methodChunk, ch.Size(), ch.MarshalTo)
	if err != nil {
		return fmt.Errorf("raft transport: encoding a snapshot chunk: %w", err)
	}
	if err := writeFrame(s.c, frame); err != nil {
		return fmt.Errorf("raft transport: sending a snapshot chunk: %w", err)
	}
	s.sent += int64(len(frame))
	if s.rate > 0 {
		due := s.start.Add(time.Duration(float64(s.sent) / float64(s.rate) * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
	}
	return nil
}

// Close implements raftio.ISnapshotConnection: poison, then wait for the
// receiver's echo so that no chunk is cut off by the close.
func (s *snapshotStream) Close() {
	defer s.c.Close()
	_ = s.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := s.c.Write(poison[:]); err != nil {
		return
	}
	_ = s.c.SetReadDeadline(time.Now().Add(poisonAckTimeout))
	var ack [2]byte
	_, _ = io.ReadFull(s.c, ack[:])
}
