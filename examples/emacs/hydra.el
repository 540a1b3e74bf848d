;;; hydra.el --- Translate text through the hydra daemon  -*- lexical-binding: t; -*-

;; Talks to the hydra daemon's Unix socket (one JSON-RPC 2.0 object per line).
;; Emacs 27+ (native JSON).
;;
;;   M-x hydra-translate-region   replace the region with its translation
;;   M-x hydra-translate-buffer   replace the buffer with its translation
;;
;; With a prefix argument, both ask for the languages.

;;; Code:

(require 'json)

(defgroup hydra nil "Offline translation with the hydra daemon." :group 'text)
(defcustom hydra-from "en" "Source language (BCP-47)." :type 'string)
(defcustom hydra-to "tt" "Target language (BCP-47)." :type 'string)
(defcustom hydra-model nil "Model (GGUF path or known name); nil for the daemon's." :type '(choice (const nil) string))
(defcustom hydra-socket nil "The daemon's socket; nil to find it as hydra does." :type '(choice (const nil) string))
(defcustom hydra-timeout 300 "Seconds to wait for a translation." :type 'integer)

(defun hydra--socket ()
  "The daemon's socket path."
  (or hydra-socket
      (let ((env (getenv "HYDRA_SOCKET"))) (and env (not (string= env "")) env))
      (let ((xdg (getenv "XDG_RUNTIME_DIR")))
        (and xdg (not (string= xdg "")) (concat xdg "/hydra/hydra.sock")))
      (format "/tmp/hydra-%d/hydra.sock" (user-uid))))

(defun hydra-translate-text (text from to)
  "Translate TEXT from FROM to TO through the daemon; return the translation."
  (let* ((pending "") (result nil) (failure nil)
         (proc (condition-case nil
                   (make-network-process :name "hydra" :family 'local :service (hydra--socket)
                                         :coding 'utf-8 :noquery t)
                 (file-error (error "hydra: no daemon is running (start one with: hydra daemon start)")))))
    (set-process-filter
     proc
     (lambda (_proc chunk)
       (setq pending (concat pending chunk))
       (let (nl)
         (while (setq nl (string-search "\n" pending))
           (let ((msg (json-parse-string (substring pending 0 nl) :object-type 'alist :null-object nil)))
             (setq pending (substring pending (1+ nl)))
             (when (equal (alist-get 'id msg) 1)
               (if (alist-get 'error msg)
                   (setq failure (alist-get 'message (alist-get 'error msg)))
                 (setq result (alist-get 'text (alist-get 'result msg))))))))))
    (process-send-string
     proc (concat (json-serialize
                   `((jsonrpc . "2.0") (id . 1) (method . "translate")
                     (params . ((text . ,text) (from . ,from) (to . ,to) (stream . :false)
                                ,@(when hydra-model `((model . ,hydra-model)))))))
                  "\n"))
    (let ((deadline (+ (float-time) hydra-timeout)))
      (while (and (not result) (not failure) (process-live-p proc) (< (float-time) deadline))
        (accept-process-output proc 0.05)))
    (delete-process proc)
    (cond (failure (error "hydra: %s" failure))
          (result result)
          (t (error "hydra: the daemon did not answer")))))

(defun hydra--languages (ask)
  "The (FROM . TO) pair: the defaults, or asked for when ASK."
  (if ask
      (cons (read-string "From: " hydra-from) (read-string "To: " hydra-to))
    (cons hydra-from hydra-to)))

;;;###autoload
(defun hydra-translate-region (start end &optional ask)
  "Replace the text between START and END by its translation.
With prefix argument ASK, ask for the languages."
  (interactive "r\nP")
  (let* ((langs (hydra--languages ask))
         (out (hydra-translate-text (buffer-substring-no-properties start end) (car langs) (cdr langs))))
    (save-excursion
      (delete-region start end)
      (goto-char start)
      (insert out))))

;;;###autoload
(defun hydra-translate-buffer (&optional ask)
  "Replace the buffer's text by its translation.
With prefix argument ASK, ask for the languages."
  (interactive "P")
  (hydra-translate-region (point-min) (point-max) ask))

(provide 'hydra)
;;; hydra.el ends here
