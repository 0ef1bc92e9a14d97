package impl

// startRequestGoroutine is ThreadingMixIn.process_request: the request runs
// on a goroutine of its own and process_request returns at once (THR-01).
// Only goroutines that ServerClose must join are counted, and a counter
// does not grow with the number of requests served (THR-03, THR-04). When
// the goroutine cannot be started (Config.Go failed), nothing is counted and
// the error takes the handle_error path (THR-05).
func (s *Server) startRequestGoroutine(r *Request) error {
	joined := !s.cfg.DaemonThreads && !s.cfg.NoBlockOnClose
	if joined {
		s.requests.Add(1)
	}
	err := s.cfg.Go(func() {
		if joined {
			defer s.requests.Done()
		}
		s.processRequestGoroutine(r)
	})
	if err != nil && joined {
		s.requests.Done()
	}
	return err
}

// processRequestGoroutine is process_request_thread: finish_request, a
// failure to handle_error (THR-02, THR-07), and shutdown_request exactly
// once on every path. A fatal error or a failing handle_error ends the
// goroutine; it is visible in the trace and does not stop the server.
func (s *Server) processRequestGoroutine(r *Request) {
	if err := s.finishRequest(r); err != nil {
		_ = s.failRequest(r, err)
		return
	}
	s.shutdownRequest(r)
}
