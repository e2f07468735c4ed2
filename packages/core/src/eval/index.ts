// Signal-quality evaluation (issue 9): outcome labels, metrics, ablation configs and the HTML report. Pure.
export * from './labels';
export * from './metrics';
export * from './ablation';
export * from './report';
export * from './calibration';
