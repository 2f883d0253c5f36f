// Command rsscheck measures the memory of `itwin-export fake-server` under
// load that no client is trusted to keep small: it starts the built binary on
// a loopback port, reads VmRSS and VmHWM from /proc/PID/status, sends
// unauthenticated 1 MiB POSTs and many GETs, and reads them again.
//
//	go build -o /tmp/itx ./cmd/itwin-export
//	go run ./apitest/internal/rsscheck -bin /tmp/itx
//
// Then it sends -header-floods requests with about -header-size bytes of
// headers (and as many just under the fake's header limit) to each of the
// blob origin, /oauth/authorize and the API (the server runs with --control,
// which records every request), and asks GET /_fake/requests once.
//
// It prints the figures and exits 1 when VmRSS after the load is over
// -limit, or the answer of /_fake/requests over -answer-limit.
// Linux only (it reads /proc); every request goes to 127.0.0.1.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

func main() {
	bin := flag.String("bin", "/tmp/itx", "path of the built itwin-export binary")
	posts := flag.Int("posts", 300, "how many unauthenticated POSTs to send")
	postSize := flag.Int("post-size", 1<<20, "body size of each POST, in bytes")
	gets := flag.Int("gets", 20000, "how many GETs to send, each with its own bearer token")
	workers := flag.Int("workers", 4, "concurrent clients")
	limit := flag.Int("limit-mib", 64, "VmRSS after the load above this many MiB fails")
	floods := flag.Int("header-floods", 600, "requests with large headers to each of the blob origin, /oauth/authorize and the API")
	headerSize := flag.Int("header-size", 900<<10, "header bytes of each flooding request")
	answerLimit := flag.Int("answer-limit-mib", 16, "an answer of GET /_fake/requests above this many MiB fails")
	flag.Parse()
	h := headerFlood{count: *floods, size: *headerSize, answerLimitMiB: *answerLimit}
	if err := run(*bin, *posts, *postSize, *gets, *workers, *limit, h); err != nil {
		fmt.Fprintln(os.Stderr, "rsscheck:", err)
		os.Exit(1)
	}
}

// headerFlood is the second load: requests with large headers.
type headerFlood struct{ count, size, answerLimitMiB int }

func run(bin string, posts, postSize, gets, workers, limitMiB int, flood headerFlood) error {
	cmd := exec.Command(bin, "fake-server", "--addr", "127.0.0.1:0", "--control")
	cmd.Stderr = io.Discard
	if os.Getenv("RSSCHECK_STDERR") != "" {
		cmd.Stderr = os.Stderr
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read the server's URL: %w", err)
	}
	base := strings.TrimSpace(line)
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		return fmt.Errorf("unexpected first line %q", base)
	}
	pid := cmd.Process.Pid
	before, err := memory(pid)
	if err != nil {
		return err
	}
	fmt.Printf("before: %s\n", before)

	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	body := bytes.Repeat([]byte("x"), postSize)
	send := func(i int) error {
		var req *http.Request
		if i < posts {
			req, _ = http.NewRequest(http.MethodPost, base+"/connections/c1/runs", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
		} else {
			req, _ = http.NewRequest(http.MethodGet, fmt.Sprintf("%s/connections?imodelId=m%d", base, i), nil)
			req.Header.Set("Authorization", fmt.Sprintf("Bearer load-%d", i))
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	}
	if err := parallel(posts+gets, workers, send); err != nil {
		return err
	}
	after, err := memory(pid)
	if err != nil {
		return err
	}
	fmt.Printf("after %d unauthenticated %d-byte POSTs and %d GETs: %s\n", posts, postSize, gets, after)
	if after.rssKiB > int64(limitMiB)<<10 {
		return fmt.Errorf("VmRSS %d KiB is over %d MiB", after.rssKiB, limitMiB)
	}
	if flood.count == 0 {
		return nil
	}
	targets, err := floodTargets(client, base)
	if err != nil {
		return err
	}
	// Each target gets flood.count requests of flood.size header bytes (the
	// fake refuses them whole) and as many just under its header limit
	// (recorded, within the budgets).
	for _, size := range []int{flood.size, 56 << 10} {
		headers := largeHeaders(size)
		for _, target := range targets {
			err := parallel(flood.count, workers, func(int) error {
				req, _ := http.NewRequest(http.MethodGet, target, nil)
				for k, v := range headers {
					req.Header[k] = v
				}
				if resp, err := client.Do(req); err == nil { // a refusal may cut the upload: not a failure
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	after, err = memory(pid)
	if err != nil {
		return err
	}
	fmt.Printf("after %d requests with %d and with 56 KiB of headers to each of the blob origin, /oauth/authorize and the API: %s\n", flood.count, flood.size, after)
	resp, err := client.Get(origin(base) + "/_fake/requests")
	if err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /_fake/requests: %d, %v", resp.StatusCode, err)
	}
	peak, err := memory(pid)
	if err != nil {
		return err
	}
	fmt.Printf("GET /_fake/requests: %d bytes; then %s\n", n, peak)
	switch {
	case after.rssKiB > int64(limitMiB)<<10:
		return fmt.Errorf("VmRSS %d KiB is over %d MiB after the header flood", after.rssKiB, limitMiB)
	case n > int64(flood.answerLimitMiB)<<20:
		return fmt.Errorf("GET /_fake/requests answered %d bytes, over %d MiB", n, flood.answerLimitMiB)
	case peak.rssKiB > int64(limitMiB)<<10:
		return fmt.Errorf("VmRSS %d KiB is over %d MiB after GET /_fake/requests", peak.rssKiB, limitMiB)
	}
	return nil
}

// origin is base without its /export path.
func origin(base string) string { return strings.TrimSuffix(base, "/export") }

// floodTargets are a blob link (of a file a script stores), the
// authorization endpoint with a valid request and an API route.
func floodTargets(client *http.Client, base string) ([]string, error) {
	resp, err := client.Post(origin(base)+"/_fake/script", "application/json",
		strings.NewReader(`{"files":[{"name":"f","displayName":"f.ifc","size":1024}]}`))
	if err != nil {
		return nil, err
	}
	var script struct {
		Variables map[string]string `json:"variables"`
	}
	err = json.NewDecoder(resp.Body).Decode(&script)
	_ = resp.Body.Close()
	if err != nil || script.Variables["f"] == "" {
		return nil, fmt.Errorf("POST /_fake/script: %d, %v", resp.StatusCode, err)
	}
	storage := strings.TrimSuffix(base, "/export") + "/storage"
	req, _ := http.NewRequest(http.MethodGet, storage+"/files/"+script.Variables["f"]+"/download", nil)
	req.Header.Set("Authorization", "Bearer rsscheck")
	noFollow := &http.Client{Transport: client.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Do(req)
	if err != nil {
		return nil, err
	}
	_ = resp.Body.Close()
	blob := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || blob == "" {
		return nil, fmt.Errorf("GET download link: %d", resp.StatusCode)
	}
	authorize := origin(base) + "/oauth/authorize?response_type=code&client_id=rsscheck&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fcb" +
		"&state=s&code_challenge_method=S256&code_challenge=" + strings.Repeat("a", 43)
	return []string{blob, authorize, base + "/connections?imodelId=m"}, nil
}

// largeHeaders are headers of about size bytes in all, in pieces of 16 KiB.
func largeHeaders(size int) http.Header {
	h := http.Header{}
	piece := strings.Repeat("h", 16<<10)
	for i := 0; size > 0; i++ {
		n := min(size, len(piece))
		h.Set(fmt.Sprintf("X-Flood-%d", i), piece[:n])
		size -= n + 16
	}
	return h
}

// parallel calls f(0) .. f(n-1) on workers goroutines and returns the first error.
func parallel(n, workers int, f func(int) error) error {
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var firstErr error
feed:
	for i := range n {
		select {
		case next <- i:
		case firstErr = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil && len(errs) > 0 {
		firstErr = <-errs
	}
	return firstErr
}

// usage is what /proc/PID/status says of a process's memory.
type usage struct{ rssKiB, hwmKiB int64 }

func (u usage) String() string {
	return fmt.Sprintf("VmRSS %.1f MiB, VmHWM %.1f MiB", float64(u.rssKiB)/1024, float64(u.hwmKiB)/1024)
}

// memory reads VmRSS and VmHWM of process pid.
func memory(pid int) (usage, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return usage{}, err
	}
	var u usage
	for _, line := range strings.Split(string(data), "\n") {
		var kib int64
		if _, err := fmt.Sscanf(line, "VmRSS: %d kB", &kib); err == nil {
			u.rssKiB = kib
		}
		if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &kib); err == nil {
			u.hwmKiB = kib
		}
	}
	if u.rssKiB == 0 {
		return usage{}, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return u, nil
}
