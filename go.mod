module github.com/inet256/go-utp/v2

go 1.25
