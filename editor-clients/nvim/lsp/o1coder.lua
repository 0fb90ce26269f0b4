-- The o1coder client configuration for Neovim 0.11's `vim.lsp.config` / `vim.lsp.enable`:
--
--   vim.lsp.config("o1coder", { settings = { o1coder = { search = { strategy = "greedy" } } } })
--   vim.lsp.enable("o1coder")
--
-- `require("o1coder").setup()` starts the same configuration itself (see the README).
return require("o1coder.config").lsp_config()
