package redisbudget_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/itwin-export/itwin-export/redisbudget"
	"github.com/itwin-export/itwin-export/wrapper"
)

// Every process of the application builds its client this way: together
// they send at most 490 requests a minute, and a 429 met by one pauses all
// of them. Here Redis cannot be reached (nothing listens on port 1), so the
// process falls back to its own budget and the export goes on.
func Example() {
	rdb, err := redisbudget.NewClient("redis://127.0.0.1:1/0")
	if err != nil {
		log.Fatal(err)
	}
	defer rdb.Close()
	limiter, err := redisbudget.New(redisbudget.Options{
		Client: rdb,
		App:    redisbudget.AppKey("my-service-app-client-id", wrapper.DefaultBaseURL),
		Budget: wrapper.RateBudget{Requests: 490, Per: time.Minute},
	})
	if err != nil {
		log.Fatal(err)
	}
	client, err := wrapper.New(wrapper.Options{TokenSource: wrapper.StaticToken("token"), Limiter: limiter})
	if err != nil {
		log.Fatal(err)
	}
	_ = client // client.ExportMany(...) and the rest, as usual

	fmt.Println(limiter.Wait(context.Background()))
	// Output: <nil>
}
