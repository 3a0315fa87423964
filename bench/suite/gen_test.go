package main

import (
	"math/rand/v2"
	"testing"
)

// The zipfian generator must stay in range and be skewed: the most popular
// key of 1,000 gets far more than the uniform share, the uniform one not.
func TestKeyGenSkew(t *testing.T) {
	for _, dist := range []string{"uniform", "zipfian"} {
		g := newKeyGen(1000, dist)
		r := rand.New(rand.NewPCG(1, 2))
		counts := map[uint64]int{}
		for i := 0; i < 100000; i++ {
			k := g.next(r)
			if k >= 1000 {
				t.Fatalf("%s: key %d out of range", dist, k)
			}
			counts[k]++
		}
		top := 0
		for _, c := range counts {
			top = max(top, c)
		}
		// uniform share is 100 per key
		if dist == "zipfian" && top < 2000 {
			t.Errorf("zipfian: most popular key got %d of 100000, want a skew (> 2000)", top)
		}
		if dist == "uniform" && top > 200 {
			t.Errorf("uniform: most popular key got %d of 100000, want about 100", top)
		}
	}
}

func TestValueOfDeterministic(t *testing.T) {
	a, b := valueOf(7, 100), valueOf(7, 100)
	if string(a) != string(b) || len(a) != 100 || string(a) == string(valueOf(8, 100)) {
		t.Fatalf("valueOf not deterministic per seed: %q %q", a, b)
	}
}
