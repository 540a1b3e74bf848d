" hydra.vim: translate lines through the hydra daemon's Unix socket.
" Needs Vim 9 (or 8.2.4684+) with +channel. Install: copy to ~/.vim/plugin/
"
"   :HydraTranslate            translate the whole buffer
"   :'<,'>HydraTranslate       translate the selected lines
"   :HydraTranslate en ru      choose the direction (default g:hydra_from, g:hydra_to)
"
" Options: g:hydra_from ('en'), g:hydra_to ('tt'), g:hydra_socket, g:hydra_model.

if exists('g:loaded_hydra') || !has('channel')
  finish
endif
let g:loaded_hydra = 1

function! s:SocketPath() abort
  if exists('g:hydra_socket') | return g:hydra_socket | endif
  if !empty($HYDRA_SOCKET) | return $HYDRA_SOCKET | endif
  if !empty($XDG_RUNTIME_DIR) | return $XDG_RUNTIME_DIR . '/hydra/hydra.sock' | endif
  return '/tmp/hydra-' . trim(system('id -u')) . '/hydra.sock'
endfunction

" Translates text through the daemon; returns the translation.
function! HydraTranslateText(text, from, to) abort
  let l:ch = ch_open('unix:' . s:SocketPath(), {'mode': 'nl'})
  if ch_status(l:ch) !=# 'open'
    throw 'hydra: no daemon is running (start one with: hydra daemon start)'
  endif
  let l:params = {'text': a:text, 'from': a:from, 'to': a:to, 'stream': v:false}
  if exists('g:hydra_model') | let l:params.model = g:hydra_model | endif
  call ch_sendraw(l:ch, json_encode({'jsonrpc': '2.0', 'id': 1, 'method': 'translate', 'params': l:params}) . "\n")
  try
    while 1
      let l:line = ch_readraw(l:ch, {'timeout': 300000})
      if empty(l:line)
        throw 'hydra: the daemon did not answer'
      endif
      let l:msg = json_decode(l:line)
      if get(l:msg, 'id', v:null) is 1
        if has_key(l:msg, 'error')
          throw 'hydra: ' . l:msg.error.message
        endif
        return l:msg.result.text
      endif
    endwhile
  finally
    call ch_close(l:ch)
  endtry
endfunction

function! s:Translate(line1, line2, ...) abort
  let l:from = a:0 >= 1 ? a:1 : get(g:, 'hydra_from', 'en')
  let l:to = a:0 >= 2 ? a:2 : get(g:, 'hydra_to', 'tt')
  let l:text = join(getline(a:line1, a:line2), "\n") . "\n"
  let l:out = HydraTranslateText(l:text, l:from, l:to)
  let l:lines = split(substitute(l:out, '\n$', '', ''), "\n", 1)
  " Replace the lines in place (deleting them all first would leave an empty line behind).
  let l:n = a:line2 - a:line1 + 1
  if len(l:lines) > l:n
    call append(a:line2, l:lines[l:n :])
  elseif len(l:lines) < l:n
    call deletebufline('%', a:line1 + len(l:lines), a:line2)
  endif
  call setline(a:line1, l:lines[: min([l:n, len(l:lines)]) - 1])
endfunction

command! -range=% -nargs=* HydraTranslate call s:Translate(<line1>, <line2>, <f-args>)
