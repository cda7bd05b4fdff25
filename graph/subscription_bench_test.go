package graph_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	execpkg "os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
	"github.com/payhub/payhub/graph/auth"
	"github.com/payhub/payhub/graph/events"
)

// BenchmarkSubscriptionFanOut: N websocket subscribers (gorilla clients in this process, speaking
// graphql-transport-ws) on one hub subscribe to paymentEvents while events are committed at a
// fixed rate; it reports the delay from each event's commit to its arrival at each client (p50,
// p99, max), the deliveries per second, the subscribers cut off as too slow, and memory: per
// connection (both ends of the socket, client and server, heap and goroutine stacks) and per
// subscription (the server alone: what subscribing adds to an open connection).
//
//	go test -run '^$' -bench SubscriptionFanOut -benchtime 1x -timeout 30m ./graph
//
// Environment: PAYHUB_BENCH_SUBSCRIBERS (5000), PAYHUB_BENCH_RATE (events/s, 200),
// PAYHUB_BENCH_SECONDS (10), PAYHUB_BENCH_GROUPS (1: every subscriber takes every event; k: each
// subscriber filters by kind for one of k groups, so it takes rate/k events/s).
func BenchmarkSubscriptionFanOut(b *testing.B) {
	n := benchEnv(b, "PAYHUB_BENCH_SUBSCRIBERS", 5000)
	rate := benchEnv(b, "PAYHUB_BENCH_RATE", 200)
	seconds := benchEnv(b, "PAYHUB_BENCH_SECONDS", 10)
	groups := benchEnv(b, "PAYHUB_BENCH_GROUPS", 1)
	n = fitFileLimit(b, n)

	pool := dbtest.New(b)
	broker := startBroker(b, pool, events.Config{})
	server := liveServer(b, pool, broker)
	key := newKey(b, pool, "bench", auth.Dashboard)
	url := "ws" + strings.TrimPrefix(server.URL, "http")

	before := heapAndStacks()
	clients := make([]*benchClient, n)
	parallel(n, 64, func(i int) {
		c, err := dialBenchClient(url, key)
		if err != nil {
			b.Fatalf("subscriber %d: %v", i, err)
		}
		clients[i] = c
	})
	b.Cleanup(func() {
		for _, c := range clients {
			c.conn.Close()
		}
	})
	connected := heapAndStacks()
	parallel(n, 64, func(i int) {
		vars := map[string]any{}
		if groups > 1 {
			vars["filter"] = map[string]any{"kinds": []string{fmt.Sprintf("bench.g%d", i%groups)}}
		}
		msg := map[string]any{"type": "subscribe", "id": "1", "payload": map[string]any{"query": `subscription($filter: PaymentEventFilter) {
			paymentEvents(filter: $filter) { cursor kind subjectId payload occurredAt } }`, "variables": vars}}
		if err := clients[i].conn.WriteJSON(msg); err != nil {
			b.Fatalf("subscribe %d: %v", i, err)
		}
	})
	deadline := time.Now().Add(time.Minute)
	for broker.Stats().Subscribers < n {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d subscribed after a minute", broker.Stats().Subscribers, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	subscribed := heapAndStacks()
	if path := os.Getenv("PAYHUB_BENCH_HEAPPROFILE"); path != "" { // what the subscribers hold
		if f, err := os.Create(path); err == nil {
			pprof.Lookup("heap").WriteTo(f, 0) //nolint:errcheck
			f.Close()
		}
	}
	perConn, connHeap, connStacks := connected.per(before, n)
	perSub, subHeap, subStacks := subscribed.per(connected, n)
	b.Logf("memory per connection (both ends): %.0f B heap + %.0f B stacks; per subscription (server): %.0f B heap + %.0f B stacks; %d goroutines",
		connHeap, connStacks, subHeap, subStacks, runtime.NumGoroutine())

	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.run()
		}()
	}

	// The writer: one event per tick, each in its own transaction, stamped with the time its
	// commit returned. It runs in a process of its own (see TestFanOutWriter), as the hub's
	// writers do: in this one it would queue behind the subscribers' goroutines for the CPU, and
	// commit late and slowly just when the hub is busiest.
	b.ResetTimer()
	total := rate * seconds
	w := runWriter(b, pool, rate, total, groups)
	committed, perGroup, late, start, wrote := w.committed, w.perGroup, w.late, w.start, w.wrote
	b.StopTimer()

	// Let every subscriber get the last event of its group (or be cut off), then stop.
	const drainTime = 2 * time.Minute
	drain := time.Now().Add(drainTime)
	for time.Now().Before(drain) {
		pending := 0
		for i, c := range clients {
			if !c.ended.Load() && c.count.Load() < int64(perGroup[i%groups]) {
				pending++
			}
		}
		if pending == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range clients {
		c.stopping.Store(true)
		c.conn.Close()
	}
	wg.Wait()

	var lat []int64
	var delivered, cut, closed, behind, missing, disorder, lastArrival int64
	for i, c := range clients {
		for j, r := range c.received {
			lastArrival = max(lastArrival, r.at)
			if at, ok := committed[r.pos.ID]; ok {
				lat = append(lat, r.at-at)
			}
			if j > 0 && !r.pos.After(c.received[j-1].pos) {
				disorder++
			}
		}
		delivered += int64(len(c.received))
		short := int64(perGroup[i%groups]) - int64(len(c.received))
		switch {
		case c.cut.Load():
			cut++
		case c.closedEarly.Load():
			closed++ // the server gave up writing to it (10 s without progress)
		case short > 0:
			behind++
			missing += short
		}
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / 1e6
	}
	b.ReportMetric(float64(n), "subscribers")
	b.ReportMetric(float64(total)/wrote.Seconds(), "events/s")
	// Deliveries per second from the first commit to the last arrival.
	b.ReportMetric(float64(delivered)/(float64(lastArrival-start)/1e9), "deliveries/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
	b.ReportMetric(perConn, "B/connection")
	b.ReportMetric(perSub, "B/subscription")
	b.ReportMetric(float64(cut), "cut-off")
	b.ReportMetric(float64(closed), "closed")
	b.ReportMetric(float64(behind), "behind")
	b.ReportMetric(0, "ns/op")
	b.Logf("%d subscribers, %d groups: %d events in %s (%d committed more than a tick late), %d deliveries (p50 %.1f ms, p99 %.1f ms); "+
		"%d cut off as too slow, %d closed by the server's write timeout, %d still %d events behind %s after the last commit",
		n, groups, total, wrote.Round(time.Millisecond), late, delivered, pct(0.5), pct(0.99), cut, closed, behind, missing, drainTime)
	if disorder > 0 {
		b.Errorf("%d events arrived out of order or twice", disorder)
	}
}

func benchEnv(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// fitFileLimit raises the open-file limit to what n sockets need (two descriptors each: both ends
// are in this process), or lowers n to what the hard limit allows.
func fitFileLimit(b *testing.B, n int) int {
	const spare = 256 // database connections, the server's listener, the test binary's own files
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		b.Logf("open-file limit unknown (%v); trying %d subscribers", err, n)
		return n
	}
	need := uint64(2*n + spare)
	if rl.Cur < need {
		rl.Cur = min(need, rl.Max)
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl) //nolint:errcheck
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) //nolint:errcheck
	}
	if rl.Cur < need {
		fit := int((rl.Cur - spare) / 2)
		b.Logf("the open-file limit is %d: %d subscribers need %d descriptors; running %d", rl.Cur, n, need, fit)
		return fit
	}
	return n
}

// memUse is the memory in use after a collection: live heap and goroutine stacks.
type memUse struct{ heap, stacks uint64 }

func heapAndStacks() memUse {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memUse{heap: m.HeapAlloc, stacks: m.StackInuse}
}

func (m memUse) total() uint64 { return m.heap + m.stacks }

// per is the growth from before to m, per one of n.
func (m memUse) per(before memUse, n int) (total, heap, stacks float64) {
	heap = (float64(m.heap) - float64(before.heap)) / float64(n)
	stacks = (float64(m.stacks) - float64(before.stacks)) / float64(n)
	return heap + stacks, heap, stacks
}

func parallel(n, width int, f func(i int)) {
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range width {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// benchClient is a lean graphql-transport-ws subscriber: it reads each message into one buffer,
// answers pings, and records the event id and arrival time of each event.
type benchClient struct {
	conn        *websocket.Conn
	buf         bytes.Buffer
	received    []arrival
	count       atomic.Int64
	ended       atomic.Bool
	cut         atomic.Bool
	closedEarly atomic.Bool // the server closed the socket without saying why
	stopping    atomic.Bool // the benchmark closes it
}

type arrival struct {
	pos events.Position
	at  int64
}

func dialBenchClient(url, key string) (*benchClient, error) {
	dialer := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 30 * time.Second,
		ReadBufferSize: 1024, WriteBufferSize: 512}
	conn, _, err := dialer.Dial(url, nil)
	if err != nil {
		return nil, err
	}
	if err := conn.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"apiKey": key}}); err != nil {
		return nil, err
	}
	var ack struct{ Type string }
	if err := conn.ReadJSON(&ack); err != nil || ack.Type != "connection_ack" {
		return nil, fmt.Errorf("connection_init: %q %v", ack.Type, err)
	}
	return &benchClient{conn: conn}, nil
}

var (
	typeNext  = []byte(`"type":"next"`)
	typePing  = []byte(`"type":"ping"`)
	typeError = []byte(`"type":"error"`)
	cursorKey = []byte(`"cursor":"`)
)

func (c *benchClient) run() {
	defer c.ended.Store(true)
	for {
		_, r, err := c.conn.NextReader()
		if err != nil {
			if !c.stopping.Load() {
				c.closedEarly.Store(true)
			}
			return
		}
		c.buf.Reset()
		if _, err := io.Copy(&c.buf, r); err != nil {
			return
		}
		at := time.Now().UnixNano()
		msg := c.buf.Bytes()
		switch {
		case bytes.Contains(msg, typeNext):
			c.received = append(c.received, arrival{pos: eventPositionOf(msg), at: at})
			c.count.Add(1)
		case bytes.Contains(msg, typePing):
			c.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"pong"}`)) //nolint:errcheck
		case bytes.Contains(msg, typeError):
			c.cut.Store(true)
			return
		}
	}
}

// eventPositionOf reads the event's position out of a message's cursor.
func eventPositionOf(msg []byte) events.Position {
	i := bytes.Index(msg, cursorKey)
	if i < 0 {
		return events.Position{}
	}
	rest := msg[i+len(cursorKey):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return events.Position{}
	}
	pos, _ := events.ParseCursor(string(rest[:end]))
	return pos
}

// ---- the writer ----

// writerCommits is how many events the writer may have in flight at once: a commit slower than
// the interval does not hold up the next event's.
const writerCommits = 8

// writerResult is what the writer did: when each event's commit returned (Unix ns, by id), how
// many events each group got, how many commits began more than a tick late, when it started
// (Unix ns) and how long it took.
type writerResult struct {
	committed map[int64]int64
	perGroup  []int
	late      int
	start     int64
	wrote     time.Duration
}

// runWriter runs TestFanOutWriter in a child process writing total events at rate into pool's
// database, and collects what it reports.
func runWriter(b *testing.B, pool *pgxpool.Pool, rate, total, groups int) writerResult {
	cmd := execpkg.Command(os.Args[0], "-test.run=^TestFanOutWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		"PAYHUB_BENCH_WRITER_DB="+pool.Config().ConnString(),
		fmt.Sprintf("PAYHUB_BENCH_WRITER=%d,%d,%d", rate, total, groups))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	res := writerResult{committed: make(map[int64]int64, total), perGroup: make([]int, groups)}
	done := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 4 && f[0] == "c": // c <id> <group> <commit ns>
			id, _ := strconv.ParseInt(f[1], 10, 64)
			g, _ := strconv.Atoi(f[2])
			at, _ := strconv.ParseInt(f[3], 10, 64)
			res.committed[id] = at
			res.perGroup[g]++
		case len(f) == 4 && f[0] == "done": // done <start ns> <duration ns> <late>
			res.start, _ = strconv.ParseInt(f[1], 10, 64)
			d, _ := strconv.ParseInt(f[2], 10, 64)
			res.wrote = time.Duration(d)
			res.late, _ = strconv.Atoi(f[3])
			done = true
		}
	}
	if err := cmd.Wait(); err != nil || !done || len(res.committed) != total {
		b.Fatalf("the writer: %v (done %v, %d of %d events)", err, done, len(res.committed), total)
	}
	return res
}

// TestFanOutWriter is BenchmarkSubscriptionFanOut's writer, run in a process of its own: it
// commits PAYHUB_BENCH_WRITER="rate,total,groups" events into PAYHUB_BENCH_WRITER_DB, one per
// tick, each in its own transaction (at most writerCommits at once), and prints each one's id,
// group and the time its commit returned.
func TestFanOutWriter(t *testing.T) {
	spec, dbURL := os.Getenv("PAYHUB_BENCH_WRITER"), os.Getenv("PAYHUB_BENCH_WRITER_DB")
	if spec == "" || dbURL == "" {
		t.Skip("BenchmarkSubscriptionFanOut runs it")
	}
	var rate, total, groups int
	if _, err := fmt.Sscanf(spec, "%d,%d,%d", &rate, &total, &groups); err != nil || rate <= 0 || groups <= 0 {
		t.Fatalf("PAYHUB_BENCH_WRITER=%q: %v", spec, err)
	}
	ctx := context.Background()
	pool, err := db.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	q := db.New(pool)
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	ticks := make(chan int)
	var wg sync.WaitGroup
	var failed atomic.Bool
	for range writerCommits {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ticks {
				g := i % groups
				ev, err := q.AppendEvent(ctx, db.AppendEventParams{Topic: "payment", Kind: fmt.Sprintf("bench.g%d", g),
					SubjectType: "payment", SubjectID: int64(i), Payload: []byte(`{"n":` + strconv.Itoa(i) + `,"gateway":"cybersource"}`)})
				at := time.Now().UnixNano()
				if err != nil {
					t.Error(err)
					failed.Store(true)
					continue
				}
				mu.Lock()
				fmt.Fprintf(out, "c %d %d %d\n", ev.ID, g, at)
				mu.Unlock()
			}
		}()
	}
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	late := 0
	for i := range total {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		ticks <- i
		if time.Since(start.Add(time.Duration(i)*interval)) > interval {
			late++
		}
	}
	close(ticks)
	wg.Wait()
	wrote := time.Since(start)
	fmt.Fprintf(out, "done %d %d %d\n", start.UnixNano(), wrote.Nanoseconds(), late)
	if err := out.Flush(); err != nil || failed.Load() {
		t.Fatal("the writer failed", err)
	}
}
