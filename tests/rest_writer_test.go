package tests

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// restWriter writes unique rows through a set of apiservers, as a REST
// client behind a load balancer would: a request that reached no
// apiserver (connection refused) is sent to the next one; a request whose
// fate is unknown (sent, no answer) is sent again to the next one with the
// same Idempotency-Key, so it is stored once either way. Both are counted.
type restWriter struct {
	ws        *writerSet
	table     string
	ambiguous atomic.Int64
	failovers atomic.Int64
	mu        sync.Mutex
	lastOK    time.Time
	maxGap    time.Duration
	measure   atomic.Bool
}

func startRESTWriter(t testing.TB, endpoints []string, db, table string) *restWriter {
	r := &restWriter{table: table, ws: &writerSet{acked: map[string]map[int64]bool{table: {}}, keys: map[string]map[string]bool{table: {}}, stop: make(chan struct{})}}
	for k := 0; k < 20; k++ {
		r.ws.keys[table][fmt.Sprintf("rk-%d", k)] = true
	}
	// A connection per request: a stopping apiserver finishes what it
	// accepted and refuses new connections, so "refused" means "not sent".
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	r.ws.wg.Add(1)
	go func() {
		defer r.ws.wg.Done()
		target := 0
		var pace pacer
		for n := int64(1); pace.wait(r.ws.stop); n++ {
			body := fmt.Sprintf(`{"value":[["rk-%d", %d, "v%d"]]}`, n%20, n, n)
			for attempt := 0; ; attempt++ {
				ep := endpoints[target%len(endpoints)]
				req, _ := http.NewRequest("PUT", "http://"+ep+"/dbs/"+db+"/tables/"+table, strings.NewReader(body))
				req.Header.Set("Idempotency-Key", fmt.Sprintf("rest-writer-%d", n))
				resp, err := hc.Do(req)
				if err != nil {
					var op *net.OpError
					if errors.As(err, &op) && op.Op == "dial" {
						target++
						r.failovers.Add(1)
						if attempt%len(endpoints) == len(endpoints)-1 {
							time.Sleep(50 * time.Millisecond) // none answers: wait a little
						}
						continue
					}
					r.ambiguous.Add(1)
					r.ws.lastErr.Store(fmt.Sprintf("row %d via %s: %v", n, ep, err))
					target++
					if attempt > 50 {
						r.ws.errs.Add(1)
						break
					}
					continue
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !strings.Contains(string(data), `"code":0`) {
					r.ws.errs.Add(1)
					r.ws.lastErr.Store(fmt.Sprintf("row %d via %s: %s", n, ep, data))
					break
				}
				now := time.Now()
				r.mu.Lock()
				r.ws.acked[table][n] = true
				if !r.lastOK.IsZero() && r.measure.Load() && now.Sub(r.lastOK) > r.maxGap {
					r.maxGap = now.Sub(r.lastOK)
				}
				r.lastOK = now
				r.mu.Unlock()
				target++ // round robin, as a load balancer
				break
			}
		}
	}()
	return r
}

func (r *restWriter) stopAndWait() {
	close(r.ws.stop)
	r.ws.wg.Wait()
}

func (r *restWriter) report(t *testing.T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Logf("REST writes: %d acknowledged, %d errors, %d unknown outcomes sent again with their Idempotency-Key (last: %v), %d switches to another apiserver, longest gap during the apiserver upgrades %s",
		len(r.ws.acked[r.table]), r.ws.errs.Load(), r.ambiguous.Load(), r.ws.lastErr.Load(), r.failovers.Load(), r.maxGap.Round(time.Millisecond))
}
