export * from './errors';
export * from './system';
export * from './account';
export * from './models';
