import { bootstrapApplication } from '@angular/platform-browser';
import { provideZonelessChangeDetection } from '@angular/core';
import { LEVEL_STREAM_CONFIG } from '@snap/levels-ui';
import { AppComponent } from './app/app.component';

const params = new URLSearchParams(location.search);

bootstrapApplication(AppComponent, {
  providers: [
    provideZonelessChangeDetection(),
    // /?underlying=SPY pins one underlying; /?token=… for a gateway with gateway.token (a WebSocket cannot send headers).
    { provide: LEVEL_STREAM_CONFIG, useValue: { underlying: params.get('underlying'), token: params.get('token') } },
  ],
}).catch((e) => console.error(e));
