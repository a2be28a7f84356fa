/// <reference types="vite/client" />
/// <reference path="../../plugin/client.d.cts" />
