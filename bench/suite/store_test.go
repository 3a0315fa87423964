package main

import "testing"

func TestFeaturesOf(t *testing.T) {
	req := row{ts: 100_000_000, v: 1, cat: "a"}
	stored := []row{
		{ts: req.ts - 5_000, v: 2, cat: "a"},     // in every window
		{ts: req.ts - 60_000, v: 4, cat: "b"},    // 1 h and 1 d
		{ts: req.ts - 7_200_000, v: 8, cat: "c"}, // 1 d only
		{ts: req.ts - 90_000_000, v: 16, cat: "d"},
	}
	f := featuresOf(req, stored)
	if f.sum10s != 3 || f.cnt1h != 3 || f.avg1h != 7.0/3 || f.max1d != 8 || f.cats1d != 3 {
		t.Fatalf("features = %+v", f)
	}
}
