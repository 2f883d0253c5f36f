package wrapper

import (
	"context"
	"sync"

	"github.com/itwin-export/itwin-export/api"
)

// ExportResult is the outcome of one connection's export in ExportMany.
type ExportResult struct {
	ConnectionID string
	// Ref names the run; it is set whenever the run was created, so that
	// waiting can be resumed even when Err is a timeout.
	Ref RunRef
	// Run is the run as last seen (completed unless Err says otherwise).
	Run *api.ExportRun
	// Err is nil for Success; see Client.Export for the rest.
	Err error
}

// ManyOptions tune ExportMany.
type ManyOptions struct {
	// Parallel is how many exports run at once; default 4.
	Parallel int
	// CreateOnly creates the runs without waiting for them: each result
	// then has Ref (or Err) and no Run.
	CreateOnly bool
	// Wait tunes the waiting of each export.
	Wait WaitOptions
	// OnResult, when set, is called as each export ends, from the goroutine
	// that ran it: it must be safe for concurrent use.
	OnResult func(ExportResult)
}

// ExportMany runs Export (or only CreateRun) for each connection, at most opts.Parallel at a
// time, and returns the results in the order of connectionIDs. One export's
// failure does not stop the others; the context stops them all. Combine it
// with Options.Budget so that many exports share a rate limit evenly, and
// with the client-wide pause every client applies on a 429.
//
// The API keeps one active run per iModel: while one connection's run is
// active, an export through another connection of the same iModel finds that
// run (Ref.Existing, naming the other connection) and waits on it instead of
// starting its own.
func (c *Client) ExportMany(ctx context.Context, connectionIDs []string, req api.ExportConnectionRunCreate, opts ManyOptions) []ExportResult {
	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = 4
	}
	results := make([]ExportResult, len(connectionIDs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(parallel, len(connectionIDs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r := ExportResult{ConnectionID: connectionIDs[i]}
				if opts.CreateOnly {
					r.Ref, r.Err = c.CreateRun(ctx, r.ConnectionID, req)
				} else {
					r.Ref, r.Run, r.Err = c.Export(ctx, r.ConnectionID, req, opts.Wait)
				}
				results[i] = r
				if opts.OnResult != nil {
					opts.OnResult(results[i])
				}
			}
		}()
	}
	for i := range connectionIDs {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}
