// Command echo is a minimal Lambda runtime, written against the Runtime API by hand so
// the emulator's own behaviour is what the rie tests exercise. It answers each event with
// {"event": <event>, "env": {NAME: value of each name in event.env}, "cwd": ...}; an event
// {"fail": "msg"} gets an error answer, {"sleep": seconds} sleeps first. ECHO_DIE=1 makes
// init fail.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime"
	if os.Getenv("ECHO_DIE") != "" {
		fmt.Println(`{"level":"ERROR","msg":"echo: told to fail at init"}`)
		os.Exit(1)
	}
	for {
		resp, err := http.Get(api + "/invocation/next")
		if err != nil {
			os.Exit(2)
		}
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var in struct {
			Env   []string `json:"env"`
			Fail  string   `json:"fail"`
			Sleep float64  `json:"sleep"`
		}
		_ = json.Unmarshal(body, &in)
		fmt.Printf("{\"level\":\"INFO\",\"msg\":\"event\",\"requestId\":%q}\n", id)
		if in.Sleep > 0 {
			time.Sleep(time.Duration(in.Sleep * float64(time.Second)))
		}
		if in.Fail != "" {
			out, _ := json.Marshal(map[string]string{"errorMessage": in.Fail, "errorType": "EchoError"})
			post(api+"/invocation/"+id+"/error", out)
			continue
		}
		env := map[string]string{}
		for _, k := range in.Env {
			env[k] = os.Getenv(k)
		}
		cwd, _ := os.Getwd()
		out, _ := json.Marshal(map[string]any{"event": json.RawMessage(body), "env": env, "cwd": cwd})
		post(api+"/invocation/"+id+"/response", out)
	}
}

func post(url string, body []byte) {
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err == nil {
		resp.Body.Close()
	}
}
