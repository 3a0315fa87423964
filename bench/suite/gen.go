package main

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
)

// keyGen picks key numbers in [0, n): uniformly, or zipfian with YCSB's
// constant 0.99 and its scrambling (popular items spread over the key space
// instead of clustered at 0). The zipfian sampler is the rejection-free
// method of Gray et al., "Quickly generating billion-record synthetic
// databases" (SIGMOD 1994), which YCSB also uses.
type keyGen struct {
	n                        uint64
	zipf                     bool
	theta, alpha, zetan, eta float64
}

const zipfTheta = 0.99

func newKeyGen(n int, dist string) *keyGen {
	g := &keyGen{n: uint64(n), zipf: dist == "zipfian"}
	if g.zipf {
		g.theta = zipfTheta
		g.alpha = 1 / (1 - g.theta)
		g.zetan = zeta(g.n, g.theta)
		zeta2 := zeta(2, g.theta)
		g.eta = (1 - math.Pow(2/float64(g.n), 1-g.theta)) / (1 - zeta2/g.zetan)
	}
	return g
}

func zeta(n uint64, theta float64) float64 {
	var s float64
	for i := uint64(1); i <= n; i++ {
		s += 1 / math.Pow(float64(i), theta)
	}
	return s
}

// next returns a key number.
func (g *keyGen) next(r *rand.Rand) uint64 {
	if !g.zipf {
		return r.Uint64N(g.n)
	}
	u := r.Float64()
	uz := u * g.zetan
	var rank uint64
	switch {
	case uz < 1:
		rank = 0
	case uz < 1+math.Pow(0.5, g.theta):
		rank = 1
	default:
		rank = uint64(float64(g.n) * math.Pow(g.eta*u-g.eta+1, g.alpha))
	}
	if rank >= g.n {
		rank = g.n - 1
	}
	h := fnv.New64a()
	var b [8]byte
	for i := range b {
		b[i] = byte(rank >> (8 * i))
	}
	_, _ = h.Write(b[:])
	return h.Sum64() % g.n
}

// keyName is the key text for a key number; the same for every system.
func keyName(i uint64) string { return "user" + strconv.FormatUint(i, 10) }

// valueOf returns size bytes of printable text derived from seed, so every
// system stores the same bytes for the same write.
func valueOf(seed uint64, size int) []byte {
	b := make([]byte, size)
	x := seed*0x9E3779B97F4A7C15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = 'a' + byte(x%26)
	}
	return b
}
