export * from './users';
export * from './credits';
export * from './system';
export * from './catalog';
export * from './generations';
export * from './media';
export * from './billing';
export * from './developer';
