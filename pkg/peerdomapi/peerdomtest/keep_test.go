package peerdomtest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// TestKeepRecords: with KeepRecords, the requests and writes remembered stay between
// KeepRecords and twice that, the latest kept; without it, all are.
func TestKeepRecords(t *testing.T) {
	for _, keep := range []int{0, 5} {
		p := peerdomtest.New(peerdomtest.Config{KeepRecords: keep})
		role := p.AddRole(peerdomapi.Role{ID: "r1", Name: "R"})
		srv := httptest.NewServer(p)
		for i := range 100 {
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s%s/roles/%s?n=%d", srv.URL, peerdomtest.APIPrefix, role.ID, i), nil)
			req.Header.Set("X-Api-Key", p.Config().APIKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		srv.Close()
		p.Close()
		reqs := p.Requests()
		if keep == 0 && len(reqs) != 100 {
			t.Fatalf("no bound: %d requests remembered, want 100", len(reqs))
		}
		if keep > 0 && (len(reqs) < keep || len(reqs) >= 2*keep) {
			t.Fatalf("KeepRecords %d: %d requests remembered", keep, len(reqs))
		}
		if last := reqs[len(reqs)-1]; last.Query != "n=99" {
			t.Fatalf("KeepRecords %d: the last remembered is %+v, want the latest (n=99)", keep, last)
		}
	}
}
