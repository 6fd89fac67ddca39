export * from './errors';
export * from './system';
export * from './account';
export * from './models';
export * from './generations';
export * from './credits';
export * from './media';
export * from './billing';
