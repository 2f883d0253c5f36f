// Command rsscheck measures the memory of `itwin-export fake-server` under
// load that no client is trusted to keep small: it starts the built binary on
// a loopback port, reads VmRSS and VmHWM from /proc/PID/status, sends
// unauthenticated 1 MiB POSTs and many GETs, and reads them again.
//
//	go build -o /tmp/itx ./cmd/itwin-export
//	go run ./apitest/internal/rsscheck -bin /tmp/itx
//
// It prints the figures and exits 1 when VmRSS after the load is over -limit.
// Linux only (it reads /proc); every request goes to 127.0.0.1.
package main

import (
	"bufio"
	"bytes"
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
	flag.Parse()
	if err := run(*bin, *posts, *postSize, *gets, *workers, *limit); err != nil {
		fmt.Fprintln(os.Stderr, "rsscheck:", err)
		os.Exit(1)
	}
}

func run(bin string, posts, postSize, gets, workers, limitMiB int) error {
	cmd := exec.Command(bin, "fake-server", "--addr", "127.0.0.1:0")
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
	return nil
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
