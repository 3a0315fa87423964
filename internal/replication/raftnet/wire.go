package raftnet

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// The frame format of dragonboat's built-in TCP transport (v4, transport
// binary version 210), kept byte for byte so that both transports
// interoperate:
//
//	magic   2 bytes  0xAE 0x7D
//	header 18 bytes  method uint16 | payload size uint64 | header CRC uint32 | payload CRC uint32
//	payload          a marshalled raftpb.MessageBatch (method 100) or raftpb.Chunk (method 200)
//
// All integers are big-endian; CRCs are CRC-32 (IEEE). The header CRC is
// taken over the 18 header bytes with its own field zeroed. A snapshot
// sender ends its stream with the poison bytes 0x00 0x00 in place of a
// magic, and waits for the receiver to echo them: then it knows every chunk
// before them was read.
const (
	headerSize = 18

	methodBatch uint16 = 100
	methodChunk uint16 = 200

	// maxPayload bounds what a header may announce: a corrupt or hostile
	// header must not make the receiver allocate without limit. dragonboat
	// batches at most 64 MiB of messages and 2 MiB snapshot chunks.
	maxPayload = 1 << 30
)

var (
	magic  = [2]byte{0xAE, 0x7D}
	poison = [2]byte{0x00, 0x00}
)

// errPoison is returned by readFrame when the peer sent poison.
var errPoison = errors.New("raftnet: poison received")

// appendFrame appends magic, header and payload space to dst and returns
// the frame, with the payload produced by marshal into the room it is
// given (at least sizeHint bytes). One buffer means one write.
func appendFrame(dst []byte, method uint16, sizeHint int, marshal func([]byte) (int, error)) ([]byte, error) {
	need := 2 + headerSize + sizeHint
	if cap(dst) < need {
		dst = make([]byte, need)
	}
	dst = dst[:need]
	n, err := marshal(dst[2+headerSize:])
	if err != nil {
		return dst[:0], err
	}
	payload := dst[2+headerSize : 2+headerSize+n]
	copy(dst, magic[:])
	h := dst[2 : 2+headerSize]
	binary.BigEndian.PutUint16(h[0:], method)
	binary.BigEndian.PutUint64(h[2:], uint64(n))
	binary.BigEndian.PutUint32(h[10:], 0)
	binary.BigEndian.PutUint32(h[14:], crc32.ChecksumIEEE(payload))
	binary.BigEndian.PutUint32(h[10:], crc32.ChecksumIEEE(h))
	return dst[:2+headerSize+n], nil
}

// readFrame reads one frame from r into buf (grown when too small) and
// returns its method and payload. It returns errPoison for a poison, and a
// descriptive error for anything that is not a well-formed frame.
func readFrame(r *bufio.Reader, buf []byte) (uint16, []byte, []byte, error) {
	var m [2]byte
	if _, err := io.ReadFull(r, m[:]); err != nil {
		return 0, nil, buf, err
	}
	if m == poison {
		return 0, nil, buf, errPoison
	}
	if m != magic {
		return 0, nil, buf, fmt.Errorf("raftnet: bad magic %#x", m)
	}
	var h [headerSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, buf, fmt.Errorf("raftnet: reading header: %w", err)
	}
	want := binary.BigEndian.Uint32(h[10:])
	binary.BigEndian.PutUint32(h[10:], 0)
	if got := crc32.ChecksumIEEE(h[:]); got != want {
		return 0, nil, buf, fmt.Errorf("raftnet: header checksum %#x, want %#x", got, want)
	}
	method := binary.BigEndian.Uint16(h[0:])
	if method != methodBatch && method != methodChunk {
		return 0, nil, buf, fmt.Errorf("raftnet: unknown method %d", method)
	}
	size := binary.BigEndian.Uint64(h[2:])
	if size == 0 || size > maxPayload {
		return 0, nil, buf, fmt.Errorf("raftnet: payload size %d out of range (1..%d)", size, maxPayload)
	}
	if uint64(cap(buf)) < size {
		buf = make([]byte, size)
	}
	payload := buf[:size]
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, buf, fmt.Errorf("raftnet: reading %d-byte payload: %w", size, err)
	}
	if got, want := crc32.ChecksumIEEE(payload), binary.BigEndian.Uint32(h[14:]); got != want {
		return 0, nil, buf, fmt.Errorf("raftnet: payload checksum %#x, want %#x", got, want)
	}
	return method, payload, buf, nil
}
